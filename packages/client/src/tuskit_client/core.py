"""Low-level core-protocol calls shaped like ``aiotus.core``: one session, no retries.

Each function does one protocol step and raises on any failure, as aiotus does: an
unexpected status is a :class:`~tuskit_client.exceptions.ResponseError` (also an
``aiohttp.ClientResponseError``), a malformed answer a ``ProtocolError``, a failure below
HTTP aiohttp's own exception. Retries are the high-level functions' and
:class:`tuskit_client.Client`'s job.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

import aiohttp
from yarl import URL

from tuskit_client import _steps
from tuskit_client._http import Http
from tuskit_client._lowlevel import aiohttp_errors, engine
from tuskit_client._progress import Progress, Span
from tuskit_client._sources import open_source
from tuskit_client._types import DEFAULT_CHUNK_SIZE, Metadata, ProgressCallback, SSLArgument
from tuskit_client.exceptions import ProtocolError
from tuskit_common import headers as tus
from tuskit_common.values import parse_list

__all__ = ["ServerConfiguration", "configuration", "metadata", "offset", "upload_buffer"]


@dataclass
class ServerConfiguration:
    """What OPTIONS says (aiotus's fields, plus the checksum algorithms)."""

    protocol_versions: list[str]
    max_size: int | None
    protocol_extensions: list[str]
    checksum_algorithms: list[str] = field(default_factory=list)


async def offset(
    session: aiohttp.ClientSession,
    location: str | URL,
    ssl: SSLArgument = True,
    headers: Mapping[str, str] | None = None,
) -> int:
    """HEAD: the number of bytes the server has for the upload."""
    async with aiohttp_errors():
        return (await engine(session, ssl, headers).status(URL(location))).offset


async def metadata(
    session: aiohttp.ClientSession,
    location: str | URL,
    ssl: SSLArgument = True,
    headers: Mapping[str, str] | None = None,
) -> Metadata:
    """HEAD: the upload's metadata (bytes values, None for key-only entries); the answer
    needs no ``Upload-Offset``.

    Raises:
        ProtocolError: the ``Upload-Metadata`` header is malformed.
    """
    http = Http(session, ssl=ssl)
    async with aiohttp_errors():
        response = await http.send(_steps.offset_request(URL(location), headers))
    return _steps.read_head_metadata(response)


async def upload_buffer(
    session: aiohttp.ClientSession,
    location: str | URL,
    buffer: BinaryIO,
    ssl: SSLArgument = True,
    chunksize: int = DEFAULT_CHUNK_SIZE,
    headers: Mapping[str, str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    checksum: str | None = None,
) -> None:
    """Send ``buffer`` to an existing upload from the server's current offset (so it also
    resumes an interrupted upload), ``chunksize`` bytes per PATCH.

    Raises:
        ProtocolError: the server's offset is beyond the buffer, or an answer is invalid.
        SourceError: the buffer is shorter than the upload.
    """
    one_try = engine(session, ssl, headers, chunksize)
    source = await open_source(buffer)
    url = URL(location)
    async with aiohttp_errors():
        status = await one_try.status(url)
        length = status.length if status.length is not None else source.size
        if length is not None and status.offset > length:
            raise ProtocolError(f"{url}: Server offset too big ({status.offset} > {length} bytes)")
        flow = one_try.flow.transfer(
            url,
            Span(),
            offset=status.offset,
            length=length,
            checksum=checksum,
            progress=Progress(progress, length),
            seekable=source.seekable,
        )
        await one_try.run(flow, source)


async def configuration(
    session: aiohttp.ClientSession,
    url: str | URL,
    ssl: SSLArgument = True,
    headers: Mapping[str, str] | None = None,
) -> ServerConfiguration:
    """OPTIONS: versions, max size, extensions (in the server's order, unknown names
    included) and checksum algorithms of the server."""
    http = Http(session, ssl=ssl)
    async with aiohttp_errors():
        response = await http.send(_steps.options_request(URL(url), headers))
    caps = _steps.read_options(response)
    return ServerConfiguration(
        list(caps.versions),
        caps.max_size,
        list(parse_list(response.headers.get(tus.TUS_EXTENSION))),
        list(caps.checksum_algorithms),
    )
