"""File sources sent by the kernel (``sendfile`` from a worker thread): the server gets the
exact bytes, progress and stall detection still work, and the fallback, cancellation and a
file that shrank behave like the streamed path."""

import asyncio
import contextlib
import errno
import gc
import os
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp.test_utils import TestServer
from fake_tus import FakeTus, ServerFactory

from tuskit_client import Client, RetryConfiguration, _sendfile
from tuskit_client._sendfile import AVAILABLE, COPY_MAX, FileRangePayload

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="sendfile to a socket is Linux-only")

MiB = 1024 * 1024
MakeClient = Callable[..., Client]


def _file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    return path, data


def _count_sendfile(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every ``os.sendfile`` call."""
    calls: list[int] = []
    real = os.sendfile

    def counted(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        moved = real(out_fd, in_fd, offset, count)
        calls.append(moved)
        return moved

    monkeypatch.setattr(os, "sendfile", counted)
    return calls


def _count_copied(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every ``os.preadv`` call (the copying path's file reads)."""
    calls: list[int] = []
    real = os.preadv

    def counted(fd: int, buffers: Any, offset: int) -> int:
        got = real(fd, buffers, offset)
        calls.append(got)
        return got

    monkeypatch.setattr(os, "preadv", counted)
    return calls


@pytest.fixture(params=["sendfile", "copy"])
def path_taken(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs once with bodies sent by ``sendfile`` and once copied through the
    buffer, whatever their size."""
    monkeypatch.setattr(_sendfile, "COPY_MAX", -1 if request.param == "sendfile" else 2**62)
    return str(request.param)


@pytest.mark.parametrize("chunk_size", [None, MiB + 17], ids=["one request", "chunks"])
async def test_file_bytes_arrive_exactly_with_progress(
    tus_server: ServerFactory,
    make_client: MakeClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk_size: int | None,
    path_taken: str,
) -> None:
    path, data = _file(tmp_path, 3 * MiB + 5)
    sendfile_calls = _count_sendfile(monkeypatch)
    copy_calls = _count_copied(monkeypatch)
    fake, endpoint = await tus_server(extensions=("creation",))
    seen: list[int] = []
    async with make_client(endpoint, chunk_size=chunk_size) as client:
        result = await client.upload(path, progress=lambda sent, acked, total: seen.append(sent))
    assert result.offset == len(data)
    assert bytes(fake.only().data) == data
    used, unused = (
        (sendfile_calls, copy_calls) if path_taken == "sendfile" else (copy_calls, sendfile_calls)
    )
    assert sum(used) == len(data)
    assert unused == []
    assert max(copy_calls, default=0) <= MiB  # one buffer of a MiB, refilled
    assert seen == sorted(seen)
    assert seen[-1] == len(data)


@pytest.mark.parametrize(
    ("size", "path_expected"), [(COPY_MAX, "copy"), (COPY_MAX + 1, "sendfile")]
)
async def test_chunk_sized_bodies_are_copied_and_longer_ones_sent_by_the_kernel(
    tus_server: ServerFactory,
    make_client: MakeClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
    path_expected: str,
) -> None:
    path, data = _file(tmp_path, size)
    sendfile_calls = _count_sendfile(monkeypatch)
    copy_calls = _count_copied(monkeypatch)
    fake, endpoint = await tus_server(extensions=("creation",))
    async with make_client(endpoint, chunk_size=None) as client:
        await client.upload(path)
    assert bytes(fake.only().data) == data
    used = sendfile_calls if path_expected == "sendfile" else copy_calls
    assert sum(used) == size


async def test_stalled_sendfile_patch_is_aborted_and_resumed(
    tus_server: ServerFactory, make_client: MakeClient, tmp_path: Path, path_taken: str
) -> None:
    path, data = _file(tmp_path, 48 * MiB)  # more than the socket buffers hold
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", stall_after=8_192)
    async with make_client(endpoint, stall_timeout=0.5) as client:
        result = await client.upload(path)
    assert result.offset == len(data)
    assert bytes(fake.only().data) == data
    patches = [int(h["Upload-Offset"]) for m, _, h in fake.requests if m == "PATCH"]
    assert patches[:2] == [0, 8_192]


class _Writer:
    """A stream writer without a transport: what a payload sees on an unusual connection."""

    transport = None

    def __init__(self) -> None:
        self.written = bytearray()

    async def write(self, chunk: bytes) -> None:
        self.written += chunk

    async def drain(self) -> None:
        return None


async def test_without_a_socket_the_fallback_pieces_are_written(tmp_path: Path) -> None:
    path, data = _file(tmp_path, 10_000)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    reports: list[int] = []
    with path.open("rb") as file:
        body = FileRangePayload(
            file.fileno(), 0, len(data), on_sent=reports.append, fallback=pieces
        )
        writer = _Writer()
        await body.write(writer)  # type: ignore[arg-type]
    assert bytes(writer.written) == data
    assert reports == [4096, 8192, 10_000]
    with pytest.raises(TypeError):
        body.decode()


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[str]:
    """The URL of a server that accepts connections and never reads from them."""
    held: list[asyncio.StreamWriter] = []

    async def handle(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/files/x"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def _put(url: str, body: FileRangePayload) -> Any:
    length = {"Content-Length": str(body.size)}
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, data=body, headers=length) as response,
    ):
        return response.status


async def test_cancelling_stops_the_sending_thread(tmp_path: Path, path_taken: str) -> None:
    path, data = _file(tmp_path, 64 * MiB)
    async with _silent_server() as url:
        with path.open("rb") as file:
            reports: list[int] = []

            async def nothing() -> AsyncIterator[bytes]:
                yield b""

            body = FileRangePayload(
                file.fileno(), 0, len(data), on_sent=reports.append, fallback=nothing
            )
            task = asyncio.create_task(_put(url, body))
            await asyncio.sleep(0.5)  # the socket buffers fill; the thread waits in poll
            assert not task.done()
            task.cancel()  # returns only once the sending thread has stopped
            async with asyncio.timeout(5):
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert reports[-1] < len(data)


async def test_a_file_shorter_than_its_range_fails_the_request(
    tmp_path: Path, path_taken: str
) -> None:
    path, data = _file(tmp_path, 1000)
    async with _silent_server() as url:
        with path.open("rb") as file:

            async def nothing() -> AsyncIterator[bytes]:
                yield b""

            body = FileRangePayload(
                file.fileno(), 0, len(data) + 100, on_sent=lambda _: None, fallback=nothing
            )
            with pytest.raises(aiohttp.ClientError):
                async with asyncio.timeout(5):
                    await _put(url, body)


async def test_tls_connections_stream_the_file_instead(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    path, data = _file(tmp_path, 2 * MiB + 1)
    calls = _count_sendfile(monkeypatch)
    fake = FakeTus(extensions=("creation",))
    server = TestServer(fake.app)
    await server.start_server(ssl=server_context)
    try:
        endpoint = server.make_url("/files/")
        assert endpoint.scheme == "https"
        config = RetryConfiguration(retry_attempts=0, ssl=client_context)
        async with make_client(endpoint, chunk_size=MiB, config=config) as client:
            result = await client.upload(path)
    finally:
        await server.close()
    assert result.offset == len(data)
    assert bytes(fake.only().data) == data
    assert calls == []  # TLS: the bytes went through aiohttp's encrypting transport


async def test_a_stopped_thread_that_fails_leaves_no_unretrieved_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: seen.append(context))

    started = threading.Event()

    def run(self: Any) -> int:
        """Wait for stop(), then fail as a send on a socket closed meanwhile does."""
        started.set()
        while not self.stopped:
            time.sleep(0.01)
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(_sendfile._FileToSocket, "run", run)

    path, data = _file(tmp_path, 1 * MiB)
    async with _silent_server() as url:
        with path.open("rb") as file:

            async def nothing() -> AsyncIterator[bytes]:
                yield b""

            body = FileRangePayload(
                file.fileno(), 0, len(data), on_sent=lambda _: None, fallback=nothing
            )
            task = asyncio.create_task(_put(url, body))
            for _ in range(500):  # until the sending thread runs (bounded)
                if started.is_set():
                    break
                await asyncio.sleep(0.01)
            assert started.is_set()
            task.cancel()
            async with asyncio.timeout(5):
                with pytest.raises(asyncio.CancelledError):
                    await task
    del task
    for _ in range(500):  # until aiohttp's writer task is gone too (bounded)
        if len(asyncio.all_tasks()) == 1:
            break
        await asyncio.sleep(0.01)
    gc.collect()  # an unretrieved error is reported when its task is collected
    await asyncio.sleep(0)
    assert seen == []
