"""Large bodies moved by the kernel (``splice_min``): the bytes on disk are exactly the bytes
sent, whatever aiohttp had buffered, and every ending of the plain path holds (short body,
stall, reset, a newer request, shutdown), each byte received kept."""

import asyncio
import errno
import io
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer
from tus_server_testing import (
    OCTET,
    TUS,
    Client,
    checksum,
    create,
    offset_of,
    open_raw,
    patch,
    raw_patch_head,
    read_status,
)
from yarl import URL

from tuskit_common import OffsetMismatch
from tuskit_server import FileStore, setup_tus
from tuskit_server._kernel_copy import splice as _splice
from tuskit_server._kernel_copy.splice import Ending, SocketToFile
from tuskit_server._setup import ENDPOINTS_KEY

pytestmark = pytest.mark.skipif(not _splice.AVAILABLE, reason="splice is Linux-only")

MiB = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _data(size: int, seed: int = 1) -> bytes:
    """Bytes where any shift, gap or repeat shows (a counter, not a repeated pattern)."""
    return b"".join((i * 2654435761 + seed).to_bytes(8, "little") for i in range(size // 8 + 1))[
        :size
    ]


# -- SocketToFile on its own ------------------------------------------------------------------


def _pair() -> tuple[socket.socket, socket.socket]:
    """A connected loopback TCP pair; the receiving end is non-blocking like aiohttp's."""
    listener = socket.create_server(("127.0.0.1", 0))
    sender = socket.create_connection(listener.getsockname())
    receiver, _ = listener.accept()
    listener.close()
    receiver.setblocking(False)
    return sender, receiver


def _send_in_thread(sock: socket.socket, data: bytes, *, close: bool = True) -> threading.Thread:
    def send() -> None:
        sock.sendall(data)
        if close:
            sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def _mover(receiver: socket.socket, **kwargs: Any) -> SocketToFile:
    kwargs.setdefault("offset", 0)
    kwargs.setdefault("head", [])
    kwargs.setdefault("idle_timeout", 5.0)
    return SocketToFile(receiver.fileno(), **kwargs)


def test_moves_head_then_socket_bytes_at_the_offset(tmp_path: Path) -> None:
    target = tmp_path / "data"
    target.write_bytes(b"p" * 10)
    body = _data(3 * MiB + 7)
    sender, receiver = _pair()
    fd = os.open(target, os.O_WRONLY)
    try:
        thread = _send_in_thread(sender, body[100:])
        mover = _mover(receiver, offset=10, head=[body[:40], body[40:100]], count=len(body) - 100)
        assert mover.run(fd) is Ending.COMPLETE
        thread.join()
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert mover.moved == len(body)
    assert target.read_bytes() == b"p" * 10 + body


def test_leaves_later_bytes_in_the_socket(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        _send_in_thread(sender, b"a" * 1000 + b"NEXT", close=False).join()
        assert _mover(receiver, count=1000).run(fd) is Ending.COMPLETE
        receiver.setblocking(True)
        assert receiver.recv(4) == b"NEXT"
    finally:
        os.close(fd)
        sender.close()
        receiver.close()


def test_short_body_ends_short_with_what_arrived(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        thread = _send_in_thread(sender, _data(MiB))
        mover = _mover(receiver, count=2 * MiB)
        assert mover.run(fd) is Ending.SHORT
        thread.join()
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert mover.moved == MiB
    assert (tmp_path / "data").read_bytes() == _data(MiB)


def test_reset_ends_reset(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        sender.sendall(b"r" * 5000)
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sender.close()  # linger 0: a RST
        mover = _mover(receiver, count=MiB)
        assert mover.run(fd) in (Ending.RESET, Ending.SHORT)
    finally:
        os.close(fd)
        receiver.close()
    assert (tmp_path / "data").read_bytes() == b"r" * mover.moved


def test_stall_ends_idle(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        sender.sendall(b"s" * 10)
        started = time.monotonic()
        mover = _mover(receiver, count=100, idle_timeout=0.2)
        assert mover.run(fd) is Ending.IDLE
        assert time.monotonic() - started < 3
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert mover.moved == 10


def test_stop_wakes_a_waiting_transfer(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        mover = _mover(receiver, count=100, idle_timeout=30)
        endings: list[Ending] = []
        thread = threading.Thread(target=lambda: endings.append(mover.run(fd)))
        thread.start()
        time.sleep(0.1)
        mover.stop()
        thread.join(3)
        assert endings == [Ending.STOPPED]
        mover.stop()  # after the end: harmless
    finally:
        os.close(fd)
        sender.close()
        receiver.close()


@pytest.mark.parametrize("refused", ["socket", "file"])
def test_copies_where_splice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    real_splice = os.splice

    def splice(src: int, dst: int, count: int, **kwargs: Any) -> int:
        if (refused == "socket" and src == receiver.fileno()) or (refused == "file" and dst == fd):
            raise OSError(errno.EINVAL, "refused")
        return real_splice(src, dst, count, **kwargs)

    monkeypatch.setattr(os, "splice", splice)
    body = _data(2 * MiB + 3)
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_WRONLY | os.O_CREAT)
    try:
        thread = _send_in_thread(sender, body)
        assert _mover(receiver, count=len(body)).run(fd) is Ending.COMPLETE
        thread.join()
    finally:
        os.close(fd)
        sender.close()
        receiver.close()
    assert (tmp_path / "data").read_bytes() == body


def test_a_failing_file_raises_after_keeping_what_was_written(tmp_path: Path) -> None:
    sender, receiver = _pair()
    fd = os.open(tmp_path / "data", os.O_RDONLY | os.O_CREAT)  # not writable
    try:
        _send_in_thread(sender, b"x" * 100).join()
        mover = _mover(receiver, count=100)
        with pytest.raises(OSError, match="Bad file descriptor"):
            mover.run(fd)
        assert mover.moved == 0
    finally:
        os.close(fd)
        sender.close()
        receiver.close()


# -- through the server -----------------------------------------------------------------------


async def _server(
    aiohttp_server: AiohttpServer, tmp_path: Path, *, read_bufsize: int = 2**16, **kwargs: Any
) -> TestServer:
    app = web.Application(handler_args={"read_bufsize": read_bufsize})
    kwargs.setdefault("splice_min", 64 * 1024)
    kwargs.setdefault("file_names", "id")  # the tests look at the store's own files
    setup_tus(app, upload_path=tmp_path / "up", lock_timeout=5.0, **kwargs)
    return await aiohttp_server(app)


Serve = Callable[..., Awaitable[tuple[TestServer, Client]]]


@pytest.fixture
def serve(aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path) -> Serve:
    """``await serve(**setup_tus_kwargs)``: a real server (see :func:`_server`) and a client."""

    async def start(**kwargs: Any) -> tuple[TestServer, Client]:
        server = await _server(aiohttp_server, tmp_path, **kwargs)
        client: Client = await aiohttp_client(server)  # type: ignore[assignment]
        return server, client

    return start


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


async def test_large_patches_land_exactly_and_close_the_connection(
    serve: Serve, tmp_path: Path
) -> None:
    _, client = await serve()
    body = _data(5 * MiB + 11)
    path = await create(client, len(body))
    first = await patch(client, path, 0, io.BytesIO(body[: 3 * MiB]))
    assert first.status == 204
    assert first.headers["Upload-Offset"] == str(3 * MiB)
    assert first.headers["Connection"] == "close"
    # the next PATCH goes over a new connection, made by the client as usual
    second = await patch(client, path, 3 * MiB, io.BytesIO(body[3 * MiB :]))
    assert second.status == 204
    assert second.headers["Upload-Offset"] == str(len(body))
    assert _stored(tmp_path, path) == body
    assert await offset_of(client, path) == len(body)


@pytest.mark.parametrize(
    ("options", "extra"),
    [
        ({"splice_min": None}, {}),
        ({}, {"Upload_Checksum": "computed below"}),
        ({"splice_min": 8 * MiB}, {}),
    ],
    ids=["off", "checksum", "below threshold"],
)
async def test_other_bodies_keep_the_connection(
    serve: Serve,
    tmp_path: Path,
    options: dict[str, Any],
    extra: dict[str, str],
) -> None:
    _, client = await serve(**options)
    body = _data(2 * MiB)
    path = await create(client, len(body))
    if extra:
        extra = {"Upload_Checksum": checksum(body)}
    response = await patch(client, path, 0, io.BytesIO(body), **extra)
    assert response.status == 204
    assert "Connection" not in response.headers
    assert _stored(tmp_path, path) == body


async def test_creation_with_upload_pours_too(serve: Serve, tmp_path: Path) -> None:
    _, client = await serve()
    body = _data(2 * MiB, seed=5)
    response = await client.post(
        "/uploads",
        headers={**TUS, "Upload-Length": str(len(body)), "Content-Type": OCTET},
        data=io.BytesIO(body),
    )
    assert response.status == 201
    assert response.headers["Upload-Offset"] == str(len(body))
    assert response.headers["Connection"] == "close"
    assert _stored(tmp_path, response.headers["Location"]) == body


def _late(handler: Handler) -> Handler:
    """A decorator that lets the whole body arrive (and fill aiohttp's buffers, pausing its
    parser) before the handler runs."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        if request.method == "PATCH":
            await asyncio.sleep(0.3)
        return await handler(request)

    return wrapped


@pytest.mark.parametrize("read_bufsize", [2**10, 2**16, 2**20])
async def test_bytes_aiohttp_buffered_come_first(
    serve: Serve,
    tmp_path: Path,
    read_bufsize: int,
) -> None:
    server, client = await serve(read_bufsize=read_bufsize, decorator=_late, splice_min=1)
    body = _data(3 * MiB, seed=read_bufsize)
    path, reader, writer = await _started(server, client, body, len(body))
    status, text = await read_status(reader)
    writer.close()
    assert status == 204, text
    assert "Connection: close" in text
    assert _stored(tmp_path, path) == body


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


def _slots(server: TestServer) -> int:
    endpoint = server.app[ENDPOINTS_KEY]["/uploads"]
    return int(endpoint.splice_slots.active)


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


async def test_expect_continue_then_a_poured_body(serve: Serve, tmp_path: Path) -> None:
    server, client = await serve()
    body = _data(3 * MiB, seed=9)
    path = await create(client, len(body))
    reader, writer = await open_raw(server)
    writer.write(raw_patch_head(path, len(body), extra={"Expect": "100-continue"}))
    await writer.drain()
    status, text = await read_status(reader)
    assert status == 100, text
    writer.write(body)
    await writer.drain()
    status, text = await read_status(reader)
    writer.close()
    assert status == 204, text
    assert "Connection: close" in text
    assert _stored(tmp_path, path) == body
