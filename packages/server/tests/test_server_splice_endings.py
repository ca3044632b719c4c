"""How a poured PATCH ends through the server: a short body, a stall, a newer request, a
shutdown, a client gone before the pour, an upload that cannot be opened; each byte received
is kept and the splice slot is given back."""

import asyncio
import io
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from splice_testing import MiB, Serve, _data, _slots, _started, _stored, _until
from tus_server_testing import TUS, create, offset_of, patch, raw_patch_head, read_status
from yarl import URL

from tuskit_common import OffsetMismatch
from tuskit_server import FileStore, setup_tus
from tuskit_server._kernel_copy import splice as _splice
from tuskit_server._setup import ENDPOINTS_KEY

pytestmark = pytest.mark.skipif(not _splice.AVAILABLE, reason="splice is Linux-only")


async def test_short_body_is_400_and_keeps_what_arrived(serve: Serve, tmp_path: Path) -> None:
    server, client = await serve()
    body = _data(4 * MiB)
    path, reader, writer = await _started(server, client, body, 2 * MiB + 5)
    writer.write_eof()
    status, text = await read_status(reader)
    writer.close()
    assert status == 400, text
    assert "shorter than announced" in (await reader.read()).decode()
    assert await offset_of(client, path) == 2 * MiB + 5
    assert _stored(tmp_path, path) == body[: 2 * MiB + 5]
    assert _slots(server) == 0
    resumed = await patch(client, path, 2 * MiB + 5, io.BytesIO(body[2 * MiB + 5 :]))
    assert resumed.status == 204
    assert _stored(tmp_path, path) == body


async def test_stall_is_500_and_keeps_what_arrived(serve: Serve, tmp_path: Path) -> None:
    server, client = await serve(idle_timeout=0.3)
    body = _data(2 * MiB)
    path, reader, writer = await _started(server, client, body, MiB)
    status, text = await read_status(reader)
    writer.close()
    assert status == 500, text
    assert "Connection: close" in text
    assert await offset_of(client, path) == MiB
    assert _stored(tmp_path, path) == body[:MiB]
    assert _slots(server) == 0


async def test_newer_request_stops_a_stale_pour(serve: Serve, tmp_path: Path) -> None:
    server, client = await serve()
    body = _data(4 * MiB)
    path, reader, writer = await _started(server, client, body, MiB)
    await _until(lambda: len(_stored(tmp_path, path)) == MiB, "the first MiB is on disk")
    assert await offset_of(client, path) == MiB  # the HEAD interrupts the stale PATCH
    status, text = await read_status(reader)
    writer.close()
    assert status == 400, text
    assert "interrupted" in (await reader.read()).decode()
    assert _stored(tmp_path, path) == body[:MiB]
    assert _slots(server) == 0


async def test_shutdown_stops_a_pour_with_503(tmp_path: Path) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path / "up", splice_min=64 * 1024, file_names="id")
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    try:
        body = _data(4 * MiB)
        path, reader, writer = await _started(server, client, body, MiB)
        await _until(lambda: len(_stored(tmp_path, path)) == MiB, "the first MiB is on disk")
        await app.shutdown()
        status, text = await read_status(reader)
        writer.close()
        assert status == 503, text
        assert _stored(tmp_path, path) == body[:MiB]
        assert not app[ENDPOINTS_KEY]["/uploads"].readers
    finally:
        await client.close()


async def test_a_client_gone_before_the_pour_keeps_what_aiohttp_had(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp's default (unlike its test server): handlers are not cancelled when their
    client goes. The client goes while the pouring thread opens the data file; the transfer
    then finds the connection reset and keeps what aiohttp had."""
    opened = asyncio.Event()
    real_open_at = FileStore._open_at
    loop = asyncio.get_running_loop()

    def slow_open_at(self: FileStore, *args: Any) -> tuple[Any, int]:
        loop.call_soon_threadsafe(opened.set)
        time.sleep(0.3)  # the client goes away meanwhile
        return real_open_at(self, *args)

    monkeypatch.setattr(FileStore, "_open_at", slow_open_at)
    app = web.Application()
    setup_tus(app, upload_path=tmp_path / "up", splice_min=64 * 1024, file_names="id")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.SockSite(runner, socket.create_server(("127.0.0.1", 0)))
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            body = _data(4 * MiB)
            created = await session.post(
                "/uploads", headers={**TUS, "Upload-Length": str(len(body))}
            )
            path = URL(created.headers["Location"]).path
            sent = 100 * 1024  # under aiohttp's buffer limit: it reads on and sees the reset
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw_patch_head(path, len(body)) + body[:sent])
            await writer.drain()
            await opened.wait()
            writer.transport.abort()
            endpoint = app[ENDPOINTS_KEY]["/uploads"]
            await _until(lambda: not endpoint.readers, "the body's request has ended")
            assert endpoint.splice_slots.active == 0
            stored = _stored(tmp_path, path)
            assert 0 < len(stored) <= sent
            assert stored == body[: len(stored)]
            head = await session.head(path, headers=TUS)
            assert head.headers["Upload-Offset"] == str(len(stored))
    finally:
        await runner.cleanup()


async def test_an_upload_that_cannot_be_opened_answers_its_error_and_closes(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pouring thread opens the data file after the body was taken: an error there
    (here an offset that changed meanwhile) is the answer, no byte is written, and the
    connection closes since aiohttp's parser is mid-body."""
    server, client = await serve()
    real_open_at = FileStore._open_at
    failures = [OffsetMismatch("offset 0 does not match 7", offset=7)]

    def failing_open_at(self: FileStore, *args: Any) -> tuple[Any, int]:
        if failures:
            raise failures.pop()
        return real_open_at(self, *args)

    monkeypatch.setattr(FileStore, "_open_at", failing_open_at)
    body = _data(2 * MiB)
    path = await create(client, len(body))
    refused = await patch(client, path, 0, io.BytesIO(body))
    assert refused.status == 409
    assert refused.headers["Connection"] == "close"
    assert _stored(tmp_path, path) == b""
    assert _slots(server) == 0
    accepted = await patch(client, path, 0, io.BytesIO(body))
    assert accepted.status == 204
    assert _stored(tmp_path, path) == body
