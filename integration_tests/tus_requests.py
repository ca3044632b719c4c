"""Small requests the hardening tests (``test_hardening_*_e2e.py``) send to a real ``tus
serve``: creation and HEAD through aiohttp, and a raw socket for the request heads and partial
bodies aiohttp will not send; plus where the file store keeps an upload's bytes. Also the
stale-PATCH takeover the two-server tests (``test_serve_redis``, ``test_scaleout``) share."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from integration_tests.test_cli_e2e import WAIT

HEADERS = {"Tus-Resumable": "1.0.0"}
OCTET = "application/offset+octet-stream"
MiB = 1 << 20
#: A PATCH that sent its first bytes this long ago and nothing since is stale: tus serve's
#: takeover_after (2 s), with a margin.
STALE_AFTER = 2.5


async def create(session: aiohttp.ClientSession, endpoint: str, length: int, **extra: str) -> str:
    async with session.post(
        endpoint, headers={**HEADERS, "Upload-Length": str(length), **extra}
    ) as response:
        assert response.status == 201, await response.text()
        return response.headers["Location"]


async def head(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    async with session.head(url, headers=HEADERS) as response:
        return response


@contextlib.asynccontextmanager
async def raw(url: str) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        yield reader, writer
    finally:
        writer.close()


def request_head(method: str, url: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {urlsplit(url).path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def status_of(reader: asyncio.StreamReader, wait: float = WAIT) -> tuple[int, str]:
    block = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
    text = block.decode("latin-1")
    return int(text.split(" ", 2)[1]), text


def data_file(storage: Path, url: str) -> Path:
    return storage / url.rstrip("/").rsplit("/", 1)[1]


async def interrupted_by_a_head(
    session: aiohttp.ClientSession,
    stale_url: str,
    head_url: str,
    patching: Mapping[str, str],
    body: AsyncIterable[bytes],
    head_headers: Mapping[str, str],
) -> aiohttp.ClientResponse:
    """PATCH ``stale_url`` with a ``body`` that stalls after its first 10 bytes, let it go
    stale, then HEAD the same upload on another server (``head_url``): the HEAD must answer at
    once with offset 10. Returns the stale PATCH's answer, which the HEAD interrupted (400)."""
    stale = asyncio.create_task(session.patch(stale_url, headers=patching, data=body))
    await asyncio.sleep(STALE_AFTER)
    assert not stale.done()
    started = time.monotonic()
    async with session.head(head_url, headers=head_headers) as head:
        took = time.monotonic() - started
        assert head.status == 200
        assert head.headers["Upload-Offset"] == "10"
    assert took < 0.5, f"the HEAD on the other server took {took:.3f} s"
    interrupted = await asyncio.wait_for(stale, 10)
    assert interrupted.status == 400
    return interrupted
