"""Low-level core-protocol calls shaped like ``aiotus.core``: one session, no retries.

Each function does one protocol step and raises on any failure (the typed errors of
:mod:`tuskit_client.exceptions`); retries are the high-level functions' and
:class:`tuskit_client.Client`'s job.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

import aiohttp
from yarl import URL

from tuskit_client import _flow
from tuskit_client._engine import Engine, Progress, Span
from tuskit_client._http import Http
from tuskit_client._sources import open_source
from tuskit_client._types import (
    DEFAULT_CHUNK_SIZE,
    Metadata,
    ProgressCallback,
    RetryConfiguration,
    SSLArgument,
)
from tuskit_client.exceptions import ProtocolError

__all__ = ["ServerConfiguration", "configuration", "metadata", "offset", "upload_buffer"]


@dataclass
class ServerConfiguration:
    """What OPTIONS says (aiotus's fields, plus the checksum algorithms)."""

    protocol_versions: list[str]
    max_size: int | None
    protocol_extensions: list[str]
    checksum_algorithms: list[str] = field(default_factory=list)


def _engine(
    session: aiohttp.ClientSession,
    ssl: SSLArgument | None,
    headers: Mapping[str, str] | None,
    chunksize: int | None = DEFAULT_CHUNK_SIZE,
) -> Engine:
    config = RetryConfiguration(retry_attempts=0, ssl=True if ssl is None else ssl)
    return Engine(Http(session, ssl=ssl), config, headers=headers, chunk_size=chunksize)


async def offset(
    session: aiohttp.ClientSession,
    location: str | URL,
    ssl: SSLArgument = True,
    headers: Mapping[str, str] | None = None,
) -> int:
    """HEAD: the number of bytes the server has for the upload."""
    return (await _engine(session, ssl, headers).status(URL(location))).offset


async def metadata(
    session: aiohttp.ClientSession,
    location: str | URL,
    ssl: SSLArgument = True,
    headers: Mapping[str, str] | None = None,
) -> Metadata:
    """HEAD: the upload's metadata (bytes values, None for key-only entries).

    Raises:
        ProtocolError: the ``Upload-Metadata`` header is malformed.
    """
    status = await _engine(session, ssl, headers).status(URL(location))
    return _flow.read_metadata(status)


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
    engine = _engine(session, ssl, headers, chunksize)
    source = await open_source(buffer)
    url = URL(location)
    status = await engine.status(url)
    length = status.length if status.length is not None else source.size
    if length is not None and status.offset > length:
        raise ProtocolError(f"{url}: server offset {status.offset} is past {length}")
    await engine.transfer(
        url,
        source,
        Span(),
        offset=status.offset,
        length=length,
        checksum=checksum,
        progress=Progress(progress, length),
    )


async def configuration(
    session: aiohttp.ClientSession,
    url: str | URL,
    ssl: SSLArgument = True,
    headers: Mapping[str, str] | None = None,
) -> ServerConfiguration:
    """OPTIONS: versions, max size, extensions and checksum algorithms of the server."""
    caps = await _engine(session, ssl, headers).options(URL(url))
    return ServerConfiguration(
        list(caps.versions),
        caps.max_size,
        sorted(e.value for e in caps.extensions),
        list(caps.checksum_algorithms),
    )
