"""Issue 21 against a real ``tus serve`` process, the connections: slow request heads and idle
connections, the connection cap, running out of file descriptors, and the per-server limits
(in-progress uploads, stored bytes, creations per minute).

Every server binds port 0 on loopback (see :func:`integration_tests.test_cli_e2e.tus_serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from integration_tests.test_cli_e2e import WAIT, tus_serve
from integration_tests.tus_requests import HEADERS, MiB, raw, request_head, status_of


async def _closed_within(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    """Send a request head one byte at a time until the server closes; seconds taken."""
    started = time.monotonic()
    head = b"OPTIONS /files/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
    for byte in head:
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            break
        if reader.at_eof():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.2)
        if reader.at_eof() or time.monotonic() - started > WAIT:
            break
    return time.monotonic() - started


async def test_slow_request_heads_and_idle_connections_are_closed(tmp_path: Path) -> None:
    timeouts = ("--header-timeout", "1", "--keepalive-timeout", "3")
    async with tus_serve(tmp_path / "uploads", *timeouts) as (endpoint, _):
        async with raw(endpoint) as (reader, writer):
            assert await _closed_within(reader, writer) < 2.5  # slowloris: cut off at 1 s
        async with raw(endpoint) as (reader, writer):
            writer.write(request_head("OPTIONS", endpoint, {}))
            status, _ = await status_of(reader)
            assert status in (200, 204)
            started = time.monotonic()
            with pytest.raises(TimeoutError):  # idle after a response: open past 1 s
                await asyncio.wait_for(reader.read(1), 1.5)
            assert await asyncio.wait_for(reader.read(), 10) == b""  # closed at 3 s
            assert 2.5 < time.monotonic() - started < 6


#: ``tus serve`` with a soft and hard limit of 128 file descriptors.
_FEW_FDS_SERVER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
from tuskit_cli.main import app
app(prog_name="tus", args=sys.argv[1:])
"""


async def _open_many(endpoint: str, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    for _ in range(count):
        parts = urlsplit(endpoint)
        _, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writers.append(writer)
    return writers


async def _options_status(endpoint: str) -> int:
    async with aiohttp.ClientSession() as session, session.options(endpoint) as response:
        return response.status


async def _serving_again(endpoint: str) -> bool:
    """Whether the server answers OPTIONS with success within a few seconds (it drops
    closed connections from its count as their handlers finish)."""
    for _ in range(50):
        if await _options_status(endpoint) in (200, 204):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_connections_beyond_the_cap_get_503_and_the_server_keeps_serving(
    tmp_path: Path,
) -> None:
    command = (sys.executable, "-c", _FEW_FDS_SERVER)
    async with tus_serve(tmp_path / "uploads", command=command) as (endpoint, server):
        idle = await _open_many(endpoint, 100)  # 64 fit below 128 descriptors
        async with raw(endpoint) as (reader, _):
            status, text = await status_of(reader, 5)
            assert status == 503, text
            assert "Retry-After: 1" in text
        for writer in idle:
            writer.close()
        assert await _serving_again(endpoint)
        assert server.returncode is None


async def test_running_out_of_descriptors_is_logged_once_per_interval(tmp_path: Path) -> None:
    command = (sys.executable, "-c", _FEW_FDS_SERVER)
    storage = tmp_path / "uploads"
    async with tus_serve(storage, "--max-connections", "1000", command=command) as (
        endpoint,
        server,
    ):
        idle = await _open_many(endpoint, 200)  # far past 128 descriptors
        await asyncio.sleep(3)  # asyncio retries accept() every second meanwhile
        for writer in idle:
            writer.close()
        assert await _serving_again(endpoint)
        server.send_signal(signal.SIGINT)
        assert server.stderr is not None
        log = (await asyncio.wait_for(server.stderr.read(), WAIT)).decode()
    assert "Traceback" not in log
    assert log.count("cannot accept connections") == 1, log


async def _post(
    session: aiohttp.ClientSession, endpoint: str, length: int
) -> aiohttp.ClientResponse:
    headers = {**HEADERS, "Upload-Length": str(length)}
    async with session.post(endpoint, headers=headers) as response:
        await response.read()
        return response


async def test_per_server_limits(tmp_path: Path) -> None:
    async with (
        tus_serve(tmp_path / "a", "--max-in-progress", "2", "--max-stored", "1MiB") as (url, _),
        aiohttp.ClientSession() as session,
    ):
        assert (await _post(session, url, 2 * MiB)).status == 507  # past the stored bytes
        assert (await _post(session, url, 10)).status == 201
        assert (await _post(session, url, 10)).status == 201
        busy = await _post(session, url, 10)
        assert busy.status == 503  # two in progress
        assert "Retry-After" in busy.headers
    async with (
        tus_serve(tmp_path / "b", "--uploads-per-minute", "2") as (url, _),
        aiohttp.ClientSession() as session,
    ):
        assert (await _post(session, url, 0)).status == 201
        assert (await _post(session, url, 0)).status == 201
        limited = await _post(session, url, 0)
        assert limited.status == 429  # the third creation of this minute
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
