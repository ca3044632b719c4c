"""Who pours: one thread per upload that ends with the app, slow clients left to the event
loop, and bodies beyond the thread limit going through the loop."""

import asyncio
import io
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from splice_testing import MiB, Serve, _data, _slots, _started, _stored, _until
from tus_server_testing import create, patch, read_status

from tuskit_server import setup_tus
from tuskit_server._kernel_copy import splice as _splice
from tuskit_server._setup import ENDPOINTS_KEY

pytestmark = pytest.mark.skipif(not _splice.AVAILABLE, reason="splice is Linux-only")


async def test_chunks_are_poured_by_one_thread_which_ends_with_the_app(tmp_path: Path) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path / "up", splice_min=64 * 1024, file_names="id")
    threads = app[ENDPOINTS_KEY]["/uploads"].splice_slots.threads
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    try:
        body = _data(4 * MiB)
        path = await create(client, len(body))
        for start in range(0, len(body), MiB):
            response = await patch(client, path, start, io.BytesIO(body[start : start + MiB]))
            assert response.headers["Connection"] == "close"  # poured
            await _until(lambda: threads.idle == 1, "the pouring thread is idle")
        assert _stored(tmp_path, path) == body
    finally:
        await client.close()  # the app's clean-up ends the idle thread
    assert threads.idle == 0


async def test_a_slow_client_is_not_poured(serve: Serve, tmp_path: Path) -> None:
    server, client = await serve()
    body = _data(2 * MiB)
    path, reader, writer = await _started(server, client, body, 1000)
    await asyncio.sleep(0.3)  # the handler has looked, and found it slow
    assert _slots(server) == 0
    writer.write(body[1000:])
    await writer.drain()
    status, text = await read_status(reader)
    writer.close()
    assert status == 204, text
    assert "Connection: close" not in text
    assert _stored(tmp_path, path) == body


async def test_beyond_the_thread_limit_bodies_go_through_the_loop(
    serve: Serve, tmp_path: Path
) -> None:
    server, client = await serve(splice_threads=1)
    first = _data(4 * MiB, seed=1)
    path, reader, writer = await _started(server, client, first, MiB)
    await _until(lambda: _slots(server) == 1, "the first body holds the only thread")
    second = _data(2 * MiB, seed=2)
    other = await create(client, len(second))
    response = await patch(client, other, 0, io.BytesIO(second))
    assert response.status == 204
    assert "Connection" not in response.headers  # not poured: no thread was free
    assert _stored(tmp_path, other) == second
    writer.write(first[MiB:])
    await writer.drain()
    status, text = await read_status(reader)
    writer.close()
    assert status == 204, text
    assert _stored(tmp_path, path) == first
    assert _slots(server) == 0
