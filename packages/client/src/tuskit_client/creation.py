"""Low-level creation calls shaped like ``aiotus.creation``: one POST, no retries."""

from collections.abc import Mapping
from typing import BinaryIO

import aiohttp
from yarl import URL

from tuskit_client import _steps
from tuskit_client._http import Http
from tuskit_client._lowlevel import aiohttp_errors
from tuskit_client._sources import open_source
from tuskit_client._types import Metadata, SSLArgument
from tuskit_common import encode_metadata
from tuskit_common import headers as tus

__all__ = ["create", "encode_metadata"]


async def create(
    session: aiohttp.ClientSession,
    url: str | URL,
    file: BinaryIO | None,
    metadata: Metadata | None = None,
    ssl: SSLArgument | None = None,
    headers: Mapping[str, str] | None = None,
) -> URL:
    """Create an upload and return its absolute URL (``Location`` resolved as
    :func:`tuskit_client._steps.resolve_location` says: RFC 3986, a bare name being a child
    of an endpoint without a trailing slash).

    ``Upload-Length`` is the file's size. Without a file the length is deferred
    (``Upload-Defer-Length: 1``), except for a final concatenation (an ``Upload-Concat:
    final;...`` in ``headers``), which carries neither.

    Raises:
        MetadataError / TypeError: invalid metadata (before any request).
        ResponseError: the answer is not 201 (also an ``aiohttp.ClientResponseError``).
        ProtocolError: the 201 has no ``Location``.
        aiohttp.ClientError: the request failed below HTTP (as in aiotus).
    """
    metadata_header = encode_metadata(metadata) if metadata else None
    extra = dict(headers or {})
    concat = next((v for k, v in extra.items() if k.lower() == tus.UPLOAD_CONCAT.lower()), None)
    length: int | None = None
    if file is not None:
        source = await open_source(file)
        length = source.size
    head = _steps.creation_request(
        URL(url),
        length=length,
        metadata_header=metadata_header,
        concat=concat,
        extra=extra,
    )
    async with aiohttp_errors():
        response = await Http(session, ssl=ssl).send(head)
    return _steps.read_creation(response).location
