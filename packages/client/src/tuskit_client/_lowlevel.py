"""What the aiotus-shaped low-level modules (``core``, ``creation``) share: an engine that
tries each request once, and aiohttp's own errors for failures below HTTP, as aiotus raises
them (``except aiohttp.ClientConnectorCertificateError`` keeps working)."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp

from tuskit_client._engine import Engine
from tuskit_client._http import Http
from tuskit_client._types import DEFAULT_CHUNK_SIZE, RetryConfiguration, SSLArgument
from tuskit_client.exceptions import TransportError


def engine(
    session: aiohttp.ClientSession,
    ssl: SSLArgument | None,
    headers: Mapping[str, str] | None,
    chunksize: int | None = DEFAULT_CHUNK_SIZE,
) -> Engine:
    """One try per request: retries are the high-level functions' job."""
    config = RetryConfiguration(retry_attempts=1, ssl=True if ssl is None else ssl)
    return Engine(Http(session, ssl=ssl), config, headers=headers, chunk_size=chunksize)


@asynccontextmanager
async def aiohttp_errors() -> AsyncIterator[None]:
    """Let a transport failure out as the aiohttp exception that caused it."""
    try:
        yield
    except TransportError as exc:
        if isinstance(exc.__cause__, aiohttp.ClientError):
            raise exc.__cause__ from None
        raise
