"""Shared by the splice tests (``test_server_splice_*.py``): bodies where any shift, gap or
repeat shows, a real server with ``splice_min`` set (behind the ``serve`` fixture of
conftest.py), and the raw PATCH, disk and slot checks the tests through the server make."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer
from tus_server_testing import Client, create, open_raw, raw_patch_head

from tuskit_server import setup_tus
from tuskit_server._setup import ENDPOINTS_KEY

MiB = 1024 * 1024


def _data(size: int, seed: int = 1) -> bytes:
    """Bytes where any shift, gap or repeat shows (a counter, not a repeated pattern)."""
    return b"".join((i * 2654435761 + seed).to_bytes(8, "little") for i in range(size // 8 + 1))[
        :size
    ]


async def _server(
    aiohttp_server: AiohttpServer, tmp_path: Path, *, read_bufsize: int = 2**16, **kwargs: Any
) -> TestServer:
    app = web.Application(handler_args={"read_bufsize": read_bufsize})
    kwargs.setdefault("splice_min", 64 * 1024)
    kwargs.setdefault("file_names", "id")  # the tests look at the store's own files
    setup_tus(app, upload_path=tmp_path / "up", lock_timeout=5.0, **kwargs)
    return await aiohttp_server(app)


Serve = Callable[..., Awaitable[tuple[TestServer, Client]]]


async def _started(
    server: TestServer, client: Client, body: bytes, sent: int
) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
    """A new upload of ``len(body)`` bytes and a raw PATCH announcing all of them, of which
    the first ``sent`` are written."""
    path = await create(client, len(body))
    reader, writer = await open_raw(server)
    writer.write(raw_patch_head(path, len(body)) + body[:sent])
    await writer.drain()
    return path, reader, writer


def _stored(tmp_path: Path, path: str) -> bytes:
    return (tmp_path / "up" / path.rsplit("/", 1)[1]).read_bytes()


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


def _slots(server: TestServer) -> int:
    endpoint = server.app[ENDPOINTS_KEY]["/uploads"]
    return int(endpoint.splice_slots.active)
