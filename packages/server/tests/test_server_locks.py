"""Per-upload locking: the MemoryLocker contract and real concurrent requests."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from tus_server_testing import OCTET, TUS, checksum, create, offset_of, patch

from tuskit_common import Locked
from tuskit_server import MemoryLocker, setup_tus
from tuskit_server._setup import ENDPOINTS_KEY
from tuskit_server.locks import Locker


@pytest.fixture(params=[MemoryLocker], ids=["memory"])
def locker(request: pytest.FixtureRequest) -> Locker:
    result: Locker = request.param()
    return result


async def test_lock_is_exclusive_and_asks_holder(locker: Locker) -> None:
    asked: list[str] = []
    first = locker.new_lock("a")
    await first.acquire(wait=1, on_release=lambda: asked.append("first"))
    second = locker.new_lock("a")
    with pytest.raises(Locked):
        await second.acquire(wait=0.05, on_release=lambda: None)
    assert asked  # the holder was asked to let go
    other = locker.new_lock("b")
    await other.acquire(wait=0.05, on_release=lambda: None)  # other ids are independent
    await other.release()

    async def later() -> None:
        await asyncio.sleep(0.05)
        await first.release()

    task = asyncio.create_task(later())
    await second.acquire(wait=1, on_release=lambda: None)
    await task
    await second.release()
    third = locker.new_lock("a")
    await third.acquire(wait=0.05, on_release=lambda: None)
    await third.release()


async def test_release_without_acquire_fails(locker: Locker) -> None:
    with pytest.raises(RuntimeError):
        await locker.new_lock("x").release()


async def _slow_body(first: bytes, gate: asyncio.Event) -> AsyncIterator[bytes]:
    yield first
    await gate.wait()
    yield b"never-read"


async def test_newer_request_interrupts_a_stale_patch(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path, lock_timeout=5)
    client = await aiohttp_client(app)
    path = await create(client, 100)
    gate = asyncio.Event()
    stale = asyncio.create_task(
        client.patch(
            path,
            headers={**TUS, "Upload-Offset": "0", "Content-Type": OCTET},
            data=_slow_body(b"a" * 10, gate),
        )
    )
    locker = client.app[ENDPOINTS_KEY]["/uploads"].locker
    assert isinstance(locker, MemoryLocker)
    for _ in range(100):  # wait until the stale PATCH holds the lock
        await asyncio.sleep(0.01)
        if locker.is_locked(path.rsplit("/", 1)[1]):
            break
    await asyncio.sleep(0.1)
    # A HEAD from the "reconnected" client interrupts the stale PATCH instead of waiting
    assert await offset_of(client, path) == 10
    response = await stale
    assert response.status == 400
    assert "interrupted" in await response.text()
    gate.set()
    resumed = await patch(client, path, 10, b"b" * 90)
    assert resumed.status == 204
    assert resumed.headers["Upload-Offset"] == "100"


async def test_lock_wait_is_bounded_423(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    locker = MemoryLocker()
    app = web.Application()
    setup_tus(app, upload_path=tmp_path, locker=locker, lock_timeout=0.1)
    client = await aiohttp_client(app)
    path = await create(client, 10)
    held = locker.new_lock(path.rsplit("/", 1)[1])
    await held.acquire(wait=1, on_release=lambda: None)  # ignores release requests
    response = await patch(client, path, 0, b"abc")
    assert response.status == 423
    assert (await client.head(path, headers=TUS)).status == 423
    await held.release()
    assert (await patch(client, path, 0, b"abc")).status == 204


async def test_concurrent_patches_never_interleave(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path, lock_timeout=5)
    client = await aiohttp_client(app)
    path = await create(client, 2000)
    results = await asyncio.gather(
        *(patch(client, path, 0, bytes([65 + i]) * 1000) for i in range(6))
    )
    statuses = sorted(r.status for r in results)
    assert statuses.count(204) >= 1
    assert set(statuses) <= {204, 400, 409}
    data = (tmp_path / path.rsplit("/", 1)[1]).read_bytes()
    offset = await offset_of(client, path)
    assert len(data) == offset
    # All PATCHes claimed offset 0: whoever wrote first, nobody's bytes mixed with it.
    assert len(set(data)) == 1


async def test_download_does_not_disturb_a_running_checksummed_patch(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path, lock_timeout=5)
    client = await aiohttp_client(app)
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
    upload_file = tmp_path / path.rsplit("/", 1)[1]
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
