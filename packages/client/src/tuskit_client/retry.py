"""The retrying high-level functions, shaped like ``aiotus.retry``: same names, arguments
and results as aiotus.

``upload`` and ``upload_multiple`` return the upload URL, or None once retries are spent,
logging the reason on the ``tuskit_client`` logger (aiotus logs on ``aiotus``). As in aiotus,
invalid metadata is checked up front and raises, and ``metadata`` raises
:class:`ProtocolError` for a server that breaks the protocol. Porting is one import:
``import tuskit_client as aiotus``.
"""

import os
from collections.abc import Iterable, Mapping
from typing import BinaryIO

import aiohttp
from yarl import URL

from tuskit_client._client import Client
from tuskit_client._types import DEFAULT_CHUNK_SIZE, Metadata, RetryConfiguration
from tuskit_client.exceptions import ResponseError, TransportError
from tuskit_client.log import logger
from tuskit_common import encode_metadata

FileLike = BinaryIO | str | os.PathLike[str] | bytes


def _check(metadata: Metadata | None) -> Metadata | None:
    """Encode once before any request, so bad metadata raises instead of being logged."""
    if metadata:
        encode_metadata(metadata)
    return metadata


async def upload(
    endpoint: str | URL,
    file: FileLike,
    metadata: Metadata | None = None,
    client_session: aiohttp.ClientSession | None = None,
    config: RetryConfiguration | None = None,
    headers: Mapping[str, str] | None = None,
    chunksize: int = DEFAULT_CHUNK_SIZE,
) -> URL | None:
    """Create an upload at ``endpoint`` and send ``file``; the upload URL, or None on failure.

    The steps are aiotus's: a POST, then a HEAD for the server's offset and the PATCHes
    from there (:meth:`Client.upload` saves the HEAD, and uses creation-with-upload).

    Raises:
        MetadataError / TypeError: invalid metadata (before any request).
    """
    metadata = _check(metadata)
    try:
        async with Client(
            endpoint, session=client_session, config=config, headers=headers, chunk_size=chunksize
        ) as client:
            location = await client.create(file, metadata=metadata)
            result = await client.upload(file, metadata=metadata, url=location, resume=False)
            return result.url
    except Exception as exc:
        logger.error("Unable to upload file: %s", exc)
    return None


async def metadata(
    endpoint: str | URL,
    client_session: aiohttp.ClientSession | None = None,
    config: RetryConfiguration | None = None,
    headers: Mapping[str, str] | None = None,
) -> Metadata | None:
    """The metadata of the upload at ``endpoint``, or None when it cannot be fetched.

    Raises:
        ProtocolError: the server's answer breaks the protocol (bad ``Upload-Metadata``).
    """
    try:
        async with Client(session=client_session, config=config, headers=headers) as client:
            return await client.metadata(endpoint)
    except (ResponseError, TransportError) as exc:
        logger.error("Unable to get metadata: %s", exc)
    return None


async def upload_multiple(
    endpoint: str | URL,
    files: Iterable[FileLike],
    metadata: Metadata | None = None,
    client_session: aiohttp.ClientSession | None = None,
    config: RetryConfiguration | None = None,
    headers: Mapping[str, str] | None = None,
    chunksize: int = DEFAULT_CHUNK_SIZE,
    parallel_uploads: int = 3,
) -> URL | None:
    """Upload several files as partial uploads and concatenate them into one final upload;
    its URL, or None on failure (including a server without concatenation)."""
    metadata = _check(metadata)
    try:
        async with Client(
            endpoint, session=client_session, config=config, headers=headers, chunk_size=chunksize
        ) as client:
            result = await client.upload_many(
                files, metadata=metadata, parallel_uploads=parallel_uploads
            )
            return result.url
    except Exception as exc:
        logger.error("Unable to upload files: %s", exc)
    return None


async def delete(
    location: str | URL,
    client_session: aiohttp.ClientSession | None = None,
    config: RetryConfiguration | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Terminate the upload at ``location`` (not in aiotus; raises on failure).

    Raises:
        UploadNotFound: the upload is unknown or already gone.
        TusClientError: any other failure.
    """
    async with Client(session=client_session, config=config, headers=headers) as client:
        await client.delete(location)
