"""FileStore's system-call economy and its safety: info files rewritten only on change, a
cache that sees another process's writes, writev without gaps, crash-cut removals."""

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from tus_server_contracts import NOW, body, new

from tuskit_common import Gone
from tuskit_server import FileStore
from tuskit_server.stores import _appending, _files

BATCH = _appending.BATCH


def _info_identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


async def test_offset_only_write_leaves_the_info_file_alone(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    await store.create(new(expires_at=NOW))
    info = tmp_path / "u1.info"
    before = _info_identity(info)
    updated = await store.write("u1", 0, body(b"abc"), expires_at=NOW)
    assert updated.offset == 3
    assert _info_identity(info) == before
    assert (await FileStore(tmp_path).get("u1")).offset == 3  # a fresh store agrees
    later = NOW + timedelta(seconds=1)
    assert (await store.write("u1", 3, body(b"d"), expires_at=later)).expires_at == later
    assert _info_identity(info) != before
    assert json.loads(info.read_text())["expires_at"].startswith("2030-01-01T00:00:01")


async def test_cache_sees_an_info_file_replaced_by_another_process(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    await store.create(new(metadata_header="a"))
    assert (await store.get("u1")).metadata_header == "a"
    record = json.loads((tmp_path / "u1.info").read_text())
    record["metadata_header"] = "b"
    (tmp_path / "other.tmp").write_text(json.dumps(record))
    os.replace(tmp_path / "other.tmp", tmp_path / "u1.info")
    assert (await store.get("u1")).metadata_header == "b"


def test_info_cache_is_bounded_and_keyed_by_signature() -> None:
    cache: _files.InfoCache[str] = _files.InfoCache(size=2)
    cache.put("a", (1, 1, 1, 1), "A")
    cache.put("b", (2, 2, 2, 2), "B")
    assert cache.get("a", (1, 1, 1, 1)) == "A"  # a is now the newest
    cache.put("c", (3, 3, 3, 3), "C")
    assert cache.get("b", (2, 2, 2, 2)) is None  # the oldest went
    assert cache.get("a", (1, 1, 1, 2)) is None  # changed file
    cache.drop("a")
    assert cache.get("a", (1, 1, 1, 1)) is None
    assert cache.get("c", (3, 3, 3, 3)) == "C"


def test_write_all_continues_after_short_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.writev
    calls: list[int] = []

    def short(fd: int, buffers: list[memoryview]) -> int:
        calls.append(len(buffers))
        return real(fd, [buffers[0][:3]])  # at most 3 bytes per call

    monkeypatch.setattr(os, "writev", short)
    pieces = [b"hello", b"", b"wor", b"ld"]
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        assert _files.write_all(fd, pieces) == 10
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"helloworld"
    assert len(calls) == 4


def test_write_all_without_writev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_files, "_HAS_WRITEV", False)
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        assert _files.write_all(fd, [b"ab", memoryview(b"cde"), b"f"]) == 6
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"abcdef"


def test_write_all_batches_many_pieces(tmp_path: Path) -> None:
    pieces = [bytes([i % 256]) for i in range(5000)]
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        assert _files.write_all(fd, pieces) == 5000
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"".join(pieces)


def test_read_whole_reads_past_a_wrong_hint(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 100_000)
    assert _files.read_whole(str(tmp_path / "f"), 10) == b"x" * 100_000


async def test_removal_cut_by_a_crash_is_finished_at_start(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    await store.create(new())
    (tmp_path / "u1.gone").write_text(json.dumps({"reason": "terminated", "at": NOW.isoformat()}))
    restarted = FileStore(tmp_path)
    await restarted.open()
    assert not (tmp_path / "u1.info").exists()
    assert not (tmp_path / "u1").exists()
    with pytest.raises(Gone):
        await restarted.get("u1")


async def _slow_pieces(first: bytes, stop: asyncio.Event) -> AsyncIterator[bytes]:
    yield first
    await stop.wait()
    yield b"never"


class _Gate:
    """Holds a worker-thread call until the test has cancelled the request waiting on it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()

    def hold(self) -> None:
        """Called from the worker thread: block until released."""
        self.entered.set()
        self._release.wait(5)

    async def cancel_while_held(self, task: "asyncio.Task[object]") -> None:
        await asyncio.to_thread(self.entered.wait, 5)
        task.cancel()
        await asyncio.sleep(0.05)
        self._release.set()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_cancelled_request_waits_for_its_batch_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request cancelled while a batch is being written settles after that write, once:
    the bytes are on disk exactly once and the rest of the body is not appended twice."""
    store = FileStore(tmp_path)
    await store.create(new(length=4 * BATCH))
    gate = _Gate()
    real = _files.write_all

    def slow_write(fd: int, pieces: list[bytes]) -> int:
        gate.hold()
        return real(fd, pieces)

    monkeypatch.setattr(_appending, "write_all", slow_write)
    first = b"a" * BATCH
    task = asyncio.create_task(
        store.write("u1", 0, _slow_pieces(first, asyncio.Event()), expires_at=None)
    )
    await gate.cancel_while_held(task)
    assert (tmp_path / "u1").read_bytes() == first
    assert (await store.get("u1")).offset == BATCH


async def test_nothing_is_appended_after_a_failed_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    await store.create(new(length=4 * BATCH))
    real = _files.write_all
    calls = 0

    def failing(fd: int, pieces: list[bytes]) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            real(fd, [pieces[0][:100]])
            raise OSError(28, "No space left on device")
        return real(fd, pieces)

    monkeypatch.setattr(_appending, "write_all", failing)
    with pytest.raises(OSError, match="No space"):
        await store.write("u1", 0, body(b"a" * BATCH, b"tail"), expires_at=None)
    assert (tmp_path / "u1").read_bytes() == b"a" * 100
    assert (await store.get("u1")).offset == 100


async def test_cancelled_request_waits_for_its_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while the data file is being opened: the file is still closed and the
    checksummed chunk's marker removed (nothing leaks, the offset is where it was)."""
    store = FileStore(tmp_path)
    await store.create(new(length=4 * BATCH))
    gate = _Gate()
    real_open = store._open_at
    opened_fds: list[int] = []

    def slow_open(upload_id: str, offset: int, mark: bool) -> tuple[object, int]:
        gate.hold()
        resource, fd = real_open(upload_id, offset, mark)
        opened_fds.append(fd)
        return resource, fd

    closed: list[int] = []
    real_close = os.close

    def recording_close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(store, "_open_at", slow_open)
    monkeypatch.setattr(os, "close", recording_close)
    task = asyncio.create_task(
        store.write_staged(
            "u1",
            0,
            _slow_pieces(b"a" * BATCH, asyncio.Event()),
            accept=lambda: True,
            expires_at=None,
        )
    )
    await gate.cancel_while_held(task)
    assert opened_fds
    assert opened_fds[0] in closed
    assert "chunk_start" not in json.loads((tmp_path / "u1.info").read_text())["storage"]
    assert (await store.get("u1")).offset == 0


@pytest.mark.parametrize("mask", [0o022, 0o027], ids=["umask-022", "umask-027"])
async def test_a_rewritten_info_file_keeps_the_mode_it_was_created_with(
    tmp_path: Path, mask: int
) -> None:
    old = os.umask(mask)
    try:
        store = FileStore(tmp_path)
        await store.create(new(expires_at=NOW))
    finally:
        os.umask(old)
    info = tmp_path / "u1.info"
    created = info.stat()
    assert created.st_mode & 0o777 == 0o644 & ~mask
    later = NOW + timedelta(seconds=1)
    await store.write("u1", 0, body(b"abc"), expires_at=later)  # rewrites the info file
    rewritten = info.stat()
    assert rewritten.st_ino != created.st_ino  # replaced, not edited in place
    assert rewritten.st_mode & 0o777 == 0o644 & ~mask


def test_umask_is_read_without_changing_it() -> None:
    old = os.umask(0o027)
    try:
        assert _files.umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(old)
