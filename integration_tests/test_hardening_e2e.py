"""Issue 21 against a real ``tus serve`` process: malformed and coded bodies, a HEAD that
must not stall a receiving PATCH, expiry from the last byte, unreadable info files, repeated
headers, partial lists, the default ``--max-size``, unusable storage folders, the
``--workers`` lock file, and termination on a full disk (a small tmpfs when the test may
mount one, else a server whose store cannot write a byte).

Every server binds port 0 on loopback (see :func:`integration_tests.test_cli_e2e.tus_serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from integration_tests.processes import process_tree
from integration_tests.test_cli_e2e import TUS, WAIT, tus_serve

HEADERS = {"Tus-Resumable": "1.0.0"}
OCTET = "application/offset+octet-stream"
MiB = 1 << 20


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


async def test_malformed_chunked_body_is_400_at_once_and_keeps_the_bytes(tmp_path: Path) -> None:
    storage = tmp_path / "uploads"
    async with tus_serve(storage) as (endpoint, _), aiohttp.ClientSession() as session:
        url = await create(session, endpoint, 100)
        async with raw(url) as (reader, writer):
            patch_head = request_head(
                "PATCH",
                url,
                {
                    **HEADERS,
                    "Content-Type": OCTET,
                    "Upload-Offset": "0",
                    "Transfer-Encoding": "chunked",
                },
            )
            writer.write(patch_head + b"5\r\nhello\r\n")
            await writer.drain()
            await asyncio.sleep(0.3)
            started = time.monotonic()
            writer.write(b"zz\r\nmore")
            status, text = await status_of(reader)
            assert time.monotonic() - started < 5  # not the 60 s idle timeout
        assert status == 400, text
        assert data_file(storage, url).read_bytes() == b"hello"
        response = await asyncio.wait_for(head(session, url), 5)  # the lock is free
        assert response.headers["Upload-Offset"] == "5"


async def test_gzip_patch_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    storage = tmp_path / "uploads"
    async with tus_serve(storage) as (endpoint, _), aiohttp.ClientSession() as session:
        url = await create(session, endpoint, 64 * MiB)
        bomb = gzip.compress(b"\0" * (64 * MiB))
        async with session.patch(
            url,
            headers={
                **HEADERS,
                "Content-Type": OCTET,
                "Upload-Offset": "0",
                "Content-Encoding": "gzip",
            },
            data=bomb,
        ) as response:
            assert response.status == 415
            assert (await response.text()).count("\n") == 1
        assert data_file(storage, url).stat().st_size == 0
        assert (await head(session, url)).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_heads_do_not_interrupt_a_receiving_patch(tmp_path: Path, workers: str) -> None:
    storage = tmp_path / "uploads"
    connector = aiohttp.TCPConnector(force_close=True)  # new connections: both workers
    async with (
        tus_serve(storage, "--workers", workers) as (endpoint, _),
        aiohttp.ClientSession(connector=connector) as session,
    ):
        url = await create(session, endpoint, 40)
        statuses: list[int] = []

        async def pester() -> None:
            while True:
                statuses.append((await head(session, url)).status)
                await asyncio.sleep(0.05)

        async with raw(url) as (reader, writer):
            headers = {**HEADERS, "Content-Type": OCTET, "Upload-Offset": "0"}
            writer.write(request_head("PATCH", url, {**headers, "Content-Length": "40"}))
            pestering = asyncio.create_task(pester())
            try:
                for _ in range(40):  # 4 s of one byte per 0.1 s
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.1)
                status, text = await status_of(reader)
            finally:
                pestering.cancel()
        assert status == 204, text
        assert data_file(storage, url).read_bytes() == b"x" * 40
        assert statuses
        assert set(statuses) == {200}


async def test_expiry_counts_from_the_last_byte(tmp_path: Path) -> None:
    storage = tmp_path / "uploads"
    async with (
        tus_serve(storage, "--expire-after", "3s") as (endpoint, _),
        aiohttp.ClientSession() as session,
    ):
        url = await create(session, endpoint, 100)
        async with raw(url) as (reader, writer):
            headers = {**HEADERS, "Content-Type": OCTET, "Upload-Offset": "0"}
            writer.write(request_head("PATCH", url, {**headers, "Content-Length": "10"}))
            for _ in range(10):  # 10 bytes over 5 s
                writer.write(b"y")
                await writer.drain()
                await asyncio.sleep(0.5)
            status, text = await status_of(reader)
        assert status == 204, text
        response = await head(session, url)
        assert response.status == 200
        assert response.headers["Upload-Offset"] == "10"
        assert data_file(storage, url).read_bytes() == b"y" * 10


@pytest.mark.parametrize("content", [b"", b'{"id": "', b"{}", bytes(range(256))])
async def test_an_unreadable_info_file_is_recovered(tmp_path: Path, content: bytes) -> None:
    storage = tmp_path / "uploads"
    async with tus_serve(storage) as (endpoint, _), aiohttp.ClientSession() as session:
        url = await create(session, endpoint, 10)
        async with session.patch(
            url,
            headers={**HEADERS, "Content-Type": OCTET, "Upload-Offset": "0"},
            data=b"abcd",
        ) as response:
            assert response.status == 204
        info = data_file(storage, url).with_suffix(".info")
        info.write_bytes(content)
        os.utime(info, (time.time() - 60, time.time() - 60))  # as a crash long ago left it
        response = await head(session, url)
        assert response.status == 200
        assert response.headers["Upload-Offset"] == "4"
        async with session.patch(
            url,
            headers={
                **HEADERS,
                "Content-Type": OCTET,
                "Upload-Offset": "4",
                "Upload-Length": "10",
            },
            data=b"efghij",
        ) as response:
            assert response.status == 204, await response.text()
        assert data_file(storage, url).read_bytes() == b"abcdefghij"
        async with session.delete(url, headers=HEADERS) as response:
            assert response.status == 204
        assert (await head(session, url)).status == 410


async def test_conflicting_repeated_headers_and_repeated_partials_are_400(tmp_path: Path) -> None:
    async with tus_serve(tmp_path / "uploads") as (endpoint, _), aiohttp.ClientSession() as s:
        async with raw(endpoint) as (reader, writer):
            lines = request_head("POST", endpoint, {**HEADERS, "Content-Length": "0"})
            writer.write(lines[:-2] + b"Upload-Length: 10\r\nUpload-Length: 99999\r\n\r\n")
            status, text = await status_of(reader)
        assert status == 400, text
        partial = await create(s, endpoint, 1, **{"Upload-Concat": "partial"})
        async with s.patch(
            partial, headers={**HEADERS, "Content-Type": OCTET, "Upload-Offset": "0"}, data=b"z"
        ) as response:
            assert response.status == 204
        path = urlsplit(partial).path
        twice = {**HEADERS, "Upload-Concat": f"final;{path} {path}"}
        async with s.post(endpoint, headers=twice) as response:
            assert response.status == 400
            assert "more than once" in await response.text()
        many = {**HEADERS, "Upload-Concat": "final;" + " ".join([path] * 150)}
        async with s.post(endpoint, headers=many) as response:
            assert response.status == 400  # 150 listed: above the cap of 64
            assert "at most 64" in await response.text()


async def test_serve_has_a_finite_default_max_size(tmp_path: Path) -> None:
    async with tus_serve(tmp_path / "a") as (endpoint, _), aiohttp.ClientSession() as session:
        async with session.options(endpoint) as response:
            assert response.headers["Tus-Max-Size"] == str(10 << 30)
        async with session.post(
            endpoint, headers={**HEADERS, "Upload-Length": str((10 << 30) + 1)}
        ) as response:
            assert response.status == 413
    async with (
        tus_serve(tmp_path / "b", "--max-size", "unlimited") as (endpoint, _),
        aiohttp.ClientSession() as session,
        session.options(endpoint) as response,
    ):
        assert "Tus-Max-Size" not in response.headers


def _serve_once(storage: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TUS, "serve", "--port", "0", "--storage", str(storage)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def _mount(folder: Path, options: str) -> bool:
    """Mount a tmpfs on ``folder``; False when this process may not (or has no mount)."""
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return mounted.returncode == 0


@contextlib.contextmanager
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write into: permissions for a normal user, a read-only tmpfs
    for root (whom permissions do not stop); a path below a file when neither works."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if not _mount(folder, "ro,size=1m"):
        (tmp_path / "file").write_bytes(b"")
        yield tmp_path / "file" / "below"
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_unusable_storage_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    with read_only_folder(tmp_path) as read_only:
        for storage in (read_only, tmp_path / "a-file" / "uploads"):
            result = _serve_once(storage)
            assert result.returncode == 1, result
            assert result.stdout == ""  # no URL: the port never opened
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert "storage" in result.stderr
            assert "cannot be used" in result.stderr
            assert "Traceback" not in result.stderr


def _open_lock_files(pid: int) -> set[str]:
    """The lock files the processes of the server ``pid`` hold open (Linux ``/proc``)."""
    found = set()
    for process in process_tree(pid):
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{process}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if "tuskit" in target and "lock" in target:
                        found.add(target)
    return found


async def test_workers_keep_their_lock_file_in_the_storage_folder(tmp_path: Path) -> None:
    storage = tmp_path / "uploads"
    async with (
        tus_serve(storage, "--workers", "2") as (endpoint, server),
        aiohttp.ClientSession() as session,
    ):
        for _ in range(4):  # a HEAD takes the lock: the lock file is opened on first use
            url = await create(session, endpoint, 1)
            assert (await head(session, url)).status == 200
        # not a temporary file that a SIGKILLed supervisor would leave behind
        assert _open_lock_files(server.pid) == {str(storage / ".tuskit.locks")}
        server.kill()  # the supervisor, SIGKILLed
        await server.wait()
    await asyncio.sleep(1)  # the workers notice their supervisor is gone
    async with (
        tus_serve(storage, "--workers", "2") as (endpoint, _),
        aiohttp.ClientSession() as session,
    ):
        url = await create(session, endpoint, 1)
        assert (await head(session, url)).status == 200


#: A ``tus serve`` whose file store cannot write one more byte into its tombstones or
#: data (ENOSPC), for machines where the test cannot mount a small file system.
_FULL_DISK_SERVER = """
import errno, sys
from tuskit_server.stores import _removal

def full(fd, pieces):
    raise OSError(errno.ENOSPC, "No space left on device")

_removal.write_all = full
from tuskit_cli.main import app
app(prog_name="tus", args=sys.argv[1:])
"""


@contextlib.contextmanager
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 4 MiB tmpfs, or None when this process may not mount one."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not _mount(folder, "size=4m"):
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


async def test_termination_frees_space_on_a_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path) as disk:
        storage = disk / "uploads" if disk is not None else tmp_path / "uploads"
        command = (sys.executable, "-c", _FULL_DISK_SERVER) if disk is None else TUS
        for restart in (False, True):
            async with (
                tus_serve(storage, command=command) as (endpoint, _),
                aiohttp.ClientSession() as session,
            ):
                if not restart:
                    url = await create(session, endpoint, 2 * MiB)
                    async with session.patch(
                        url,
                        headers={**HEADERS, "Content-Type": OCTET, "Upload-Offset": "0"},
                        data=io.BytesIO(os.urandom(2 * MiB)),
                    ) as response:
                        assert response.status == 204
                    if disk is not None:
                        filler = disk / "filler"
                        with contextlib.suppress(OSError), filler.open("wb") as out:
                            while True:
                                out.write(b"\0" * 65536)
                        assert os.statvfs(disk).f_bavail == 0  # full
                    async with session.delete(url, headers=HEADERS) as response:
                        assert response.status == 204, await response.text()
                    assert not data_file(storage, url).exists()
                    if disk is not None:
                        assert os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize >= MiB
                    upload_id = url.rsplit("/", 1)[1]
                # the same answer from the server that terminated it and after a restart
                assert (await head(session, endpoint + upload_id)).status == 410


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
