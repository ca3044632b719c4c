"""Per-upload locking: the locker contract for MemoryLocker and FileLocker, FileLocker between two
openings of one lock file (as between worker processes), and real concurrent requests."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from tus_server_contracts import LockerContract
from tus_server_testing import (
    OCTET,
    TUS,
    MakeClient,
    checksum,
    create,
    offset_of,
    patch,
    resume_after_interruption,
    stale_patch,
)

from tuskit_common import Locked
from tuskit_server import FileLocker, MemoryLocker, setup_tus
from tuskit_server._setup import ENDPOINTS_KEY


class TestMemoryLocker(LockerContract):
    @pytest.fixture
    def locker(self) -> MemoryLocker:
        return MemoryLocker()


class TestFileLocker(LockerContract):
    @pytest.fixture
    def locker(self, tmp_path: Path) -> Iterator[FileLocker]:
        result = FileLocker(tmp_path / "locks", poll=0.005, check_every=0.01)
        yield result
        result.close()


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[tuple[FileLocker, FileLocker]]:
    """Two lockers on one lock file: each opens it itself, as two worker processes do."""
    pair = tuple(FileLocker(tmp_path / "locks", poll=0.005, check_every=0.01) for _ in "ab")
    yield pair[0], pair[1]
    for locker in pair:
        locker.close()


async def test_file_locks_exclude_another_process_and_ask_it_to_let_go(
    two_processes: tuple[FileLocker, FileLocker],
) -> None:
    mine, theirs = two_processes
    asked: list[str] = []
    held = mine.new_lock("a")
    await held.acquire(wait=1, on_release=lambda: asked.append("held"))
    with pytest.raises(Locked):
        await theirs.new_lock("a").acquire(wait=0.1, on_release=lambda: None)
    assert asked  # the other process's wait reached the holder
    assert not theirs.is_locked("a")  # a failed wait leaves nothing held
    other = theirs.new_lock("b")
    await other.acquire(wait=0.05, on_release=lambda: None)  # other ids are independent
    await other.release()
    asked.clear()
    await asyncio.sleep(0.05)
    assert not asked  # nobody waits any more: the holder is left alone

    waiter = theirs.new_lock("a")
    waiting = asyncio.create_task(waiter.acquire(wait=2, on_release=lambda: None))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await held.release()
    await waiting
    with pytest.raises(Locked):
        await mine.new_lock("a").acquire(wait=0.05, on_release=lambda: None)
    await waiter.release()
    again = mine.new_lock("a")
    await again.acquire(wait=0.05, on_release=lambda: None)
    await again.release()


async def test_file_lock_goes_with_its_process(tmp_path: Path) -> None:
    gone = FileLocker(tmp_path / "locks")
    await gone.new_lock("a").acquire(wait=1, on_release=lambda: None)
    gone.close()  # what a crashed worker's exit does to its locks
    survivor = FileLocker(tmp_path / "locks")
    lock = survivor.new_lock("a")
    await lock.acquire(wait=0.05, on_release=lambda: None)
    await lock.release()
    survivor.close()


async def test_a_request_in_another_process_interrupts_astale_patch(
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    two_processes: tuple[FileLocker, FileLocker],
) -> None:
    clients = []
    for locker in two_processes:
        app = web.Application()
        setup_tus(app, upload_path=tmp_path / "uploads", locker=locker, lock_timeout=5)
        clients.append(await aiohttp_client(app))
    first, second = clients
    path = await create(first, 100)
    gate = asyncio.Event()
    stale = await stale_patch(first, path, gate, two_processes[0].is_locked)
    assert await offset_of(second, path) == 10
    await resume_after_interruption(stale, gate, second, path)


async def test_newer_request_interrupts_astale_patch(make_client: MakeClient) -> None:
    client = await make_client(lock_timeout=5)
    path = await create(client, 100)
    gate = asyncio.Event()
    locker = client.app[ENDPOINTS_KEY]["/uploads"].locker
    assert isinstance(locker, MemoryLocker)
    stale = await stale_patch(client, path, gate, locker.is_locked)
    # A HEAD from the "reconnected" client interrupts the stale PATCH instead of waiting
    assert await offset_of(client, path) == 10
    await resume_after_interruption(stale, gate, client, path)


async def test_lock_wait_is_bounded_423(make_client: MakeClient) -> None:
    locker = MemoryLocker()
    client = await make_client(locker=locker, lock_timeout=0.1)
    path = await create(client, 10)
    held = locker.new_lock(path.rsplit("/", 1)[1])
    await held.acquire(wait=1, on_release=lambda: None)  # ignores release requests
    response = await patch(client, path, 0, b"abc")
    assert response.status == 423
    assert (await client.head(path, headers=TUS)).status == 423
    await held.release()
    assert (await patch(client, path, 0, b"abc")).status == 204


async def test_concurrent_patches_never_interleave(make_client: MakeClient, tmp_path: Path) -> None:
    client = await make_client(lock_timeout=5)
    path = await create(client, 2000)
    results = await asyncio.gather(
        *(patch(client, path, 0, bytes([65 + i]) * 1000) for i in range(6))
    )
    statuses = sorted(r.status for r in results)
    assert statuses.count(204) >= 1
    assert set(statuses) <= {204, 400, 409}
    data = (tmp_path / "up" / path.rsplit("/", 1)[1]).read_bytes()
    offset = await offset_of(client, path)
    assert len(data) == offset
    # All PATCHes claimed offset 0: whoever wrote first, nobody's bytes mixed with it.
    assert len(set(data)) == 1


async def test_download_does_not_disturb_a_running_checksummed_patch(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(lock_timeout=5)
    first, rest = b"a" * 300_000, b"b" * 100  # the first piece reaches the disk at once
    path = await create(client, len(first + rest))
    gate = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield first
        await gate.wait()
        yield rest

    running = asyncio.create_task(
        client.patch(
            path,
            headers={
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": OCTET,
                "Upload-Checksum": checksum(first + rest),
            },
            data=body(),
        )
    )
    locker = client.app[ENDPOINTS_KEY]["/uploads"].locker
    assert isinstance(locker, MemoryLocker)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if locker.is_locked(path.rsplit("/", 1)[1]):
            break
    upload_file = tmp_path / "up" / path.rsplit("/", 1)[1]
    for _ in range(100):
        await asyncio.sleep(0.01)
        if _size(upload_file) >= len(first):
            break
    assert (await client.get(path)).status == 404  # unfinished; takes no lock, changes nothing
    gate.set()
    response = await running
    assert response.status == 204
    assert response.headers["Upload-Offset"] == str(len(first + rest))
    assert await (await client.get(path)).read() == first + rest


def _size(path: Path) -> int:
    return path.stat().st_size
