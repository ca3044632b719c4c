"""The RedisLocker on a real redis-server (Debian's, started on a free loopback port by the
fixture, installed first when missing): the locker contract, two lockers as two server
instances, leases that lapse (a paused process, a lock taken away), the fence that keeps a
lapsed holder from committing, and a Redis outage (503) with the service coming back."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from redis.asyncio import Redis
from tus_server_contracts import LockerContract
from tus_server_testing import (
    TUS,
    Client,
    create,
    offset_of,
    patch,
    resume_after_interruption,
    stale_patch,
)

from integration_tests.redis_server import RedisServer, running_redis
from tuskit_common import Locked, Resource
from tuskit_server import Hooks, setup_tus
from tuskit_server._body import BodyReader
from tuskit_server.errors import LockLost
from tuskit_server.launch import shared_locker
from tuskit_server.locks import hold
from tuskit_server.locks.redis import RedisLocker
from tuskit_server.settings import load_settings
from tuskit_server.stores.base import PourTarget

MakeLocker = Callable[..., RedisLocker]
MakeApp = Callable[..., Awaitable[Client]]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
async def make_locker(redis_server: RedisServer) -> AsyncIterator[MakeLocker]:
    """RedisLockers of one namespace of their own (one per "instance"), closed after."""
    namespace = f"test-{uuid.uuid4().hex}"
    made: list[RedisLocker] = []

    def make(**kwargs: Any) -> RedisLocker:
        kwargs.setdefault("url", redis_server.url)
        kwargs.setdefault("poll", 0.02)
        made.append(RedisLocker(namespace=namespace, **kwargs))
        return made[-1]

    yield make
    for locker in made:
        await locker.close()


@pytest.fixture
def make_app(aiohttp_client: AiohttpClient, tmp_path: Path) -> MakeApp:
    """A tus app ("an instance") on the shared upload folder with the given locker."""

    async def make(locker: RedisLocker, **kwargs: Any) -> Client:
        app = web.Application()
        kwargs.setdefault("lock_timeout", 5)
        setup_tus(app, upload_path=tmp_path / "up", file_names="id", locker=locker, **kwargs)
        return await aiohttp_client(app)

    return make


class TestRedisLocker(LockerContract):
    @pytest.fixture
    def locker(self, make_locker: MakeLocker) -> RedisLocker:
        return make_locker()


def _id(path: str) -> str:
    return path.rsplit("/", 1)[1]


async def test_a_head_on_another_instance_interrupts_a_stale_patch_within_half_a_second(
    make_locker: MakeLocker, make_app: MakeApp
) -> None:
    first_locker = make_locker()
    first = await make_app(first_locker, takeover_after=0.1)
    second = await make_app(make_locker(), takeover_after=0.1)
    path = await create(first, 100)
    gate = asyncio.Event()
    stale = await stale_patch(first, path, gate, first_locker.is_locked)
    assert first_locker.is_locked(_id(path))
    started = time.monotonic()
    assert await offset_of(second, path) == 10
    took = time.monotonic() - started
    assert took < 0.5, f"the HEAD on the other instance took {took:.3f} s"
    await resume_after_interruption(stale, gate, second, path)


async def test_a_paused_holder_loses_its_lease_to_another_instance(
    make_locker: MakeLocker,
) -> None:
    mine, theirs = make_locker(lease=0.3), make_locker()  # theirs: the default 10 s lease
    lapsed: list[str] = []
    async with hold(mine, "u", wait=1, on_release=lambda: None) as fence:
        fence.on_lapse(lambda: lapsed.append("lapsed"))
        held_before = fence.held
        time.sleep(0.45)  # noqa: ASYNC251 - the whole process pauses (GC, SIGSTOP): no renewal
        assert held_before
        assert not fence.held  # known at once, before any renewal could tell
        with pytest.raises(LockLost):
            fence.check()
        taken = theirs.new_lock("u")
        await taken.acquire(wait=5, on_release=lambda: None)  # Redis let the lease expire
        for _ in range(50):
            if lapsed:
                break
            await asyncio.sleep(0.02)
        assert lapsed == ["lapsed"]  # the renewal found the lock someone else's
    # the stale holder's release left the new holder's lock alone
    with pytest.raises(Locked):
        await mine.new_lock("u").acquire(wait=0.05, on_release=lambda: None)
    await taken.release()


#: The first half of the body: enough for the kernel-copy probe (64 KiB arriving at once).
_HALF = 128 * 1024


@pytest.mark.parametrize("transfer", ["python", "kernel"])
async def test_a_holder_whose_lock_is_taken_away_commits_nothing_more(
    make_locker: MakeLocker,
    make_app: MakeApp,
    redis_server: RedisServer,
    tmp_path: Path,
    transfer: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poured: list[int] = []
    pour = BodyReader.pour

    async def counted(reader: BodyReader, target: PourTarget) -> Resource:
        poured.append(1)
        return await pour(reader, target)

    monkeypatch.setattr(BodyReader, "pour", counted)
    locker = make_locker(lease=0.6)
    splice_min = 1024 if transfer == "kernel" else None  # poured by a transfer thread, or read
    client = await make_app(locker, takeover_after=60, splice_min=splice_min)
    path = await create(client, 2 * _HALF)
    gate = asyncio.Event()
    running = await stale_patch(
        client, path, gate, locker.is_locked, body=_two_halves(gate, _HALF), length=2 * _HALF
    )
    raw: Redis = Redis.from_url(redis_server.url)
    try:  # someone else now holds it (a lease that Redis let expire, then was taken)
        await raw.set(locker.key(_id(path)), "someone-else", px=10_000)
        response = await asyncio.wait_for(running, 2)
        assert response.status == 503
        assert "lapsed" in await response.text()
        gate.set()
        await raw.delete(locker.key(_id(path)))
    finally:
        await raw.aclose()
    assert await offset_of(client, path) == _HALF
    assert (tmp_path / "up" / _id(path)).read_bytes() == b"a" * _HALF
    assert bool(poured) == (transfer == "kernel")


async def test_a_paused_holder_hands_the_store_nothing_after_its_lease(
    make_locker: MakeLocker, make_app: MakeApp, tmp_path: Path
) -> None:
    locker = make_locker(lease=0.3)
    client = await make_app(locker, takeover_after=60)
    path = await create(client, 20)
    gate = asyncio.Event()
    running = await stale_patch(client, path, gate, locker.is_locked, body=_two_halves(gate, 10))
    time.sleep(0.45)  # noqa: ASYNC251 - the server process pauses past its lease
    gate.set()  # the rest of the body arrives after the pause
    response = await asyncio.wait_for(running, 2)
    assert response.status == 503
    assert await offset_of(client, path) == 10
    assert (tmp_path / "up" / _id(path)).read_bytes() == b"a" * 10


async def _two_halves(gate: asyncio.Event, half: int) -> AsyncIterator[bytes]:
    yield b"a" * half
    await gate.wait()
    yield b"b" * half


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, which it stops and starts again."""
    with running_redis(tmp_path / "redis") as server:
        yield server


async def test_a_redis_outage_answers_503_writes_nothing_and_service_resumes(
    own_redis: RedisServer, make_locker: MakeLocker, make_app: MakeApp, tmp_path: Path
) -> None:
    locker = make_locker(url=own_redis.url, lease=1.0, timeout=0.5)
    client = await make_app(locker, takeover_after=60, health=True)
    path = await create(client, 100)
    assert (await patch(client, path, 0, b"x" * 5)).status == 204
    gate = asyncio.Event()
    in_flight = await stale_patch(client, path, gate, locker.is_locked, offset=5)
    own_redis.stop()
    response = await asyncio.wait_for(in_flight, 2)  # its lock lapsed with the connection
    assert response.status == 503
    gate.set()
    refused = await patch(client, path, 15, b"y" * 10)
    assert refused.status == 503
    assert refused.headers["Retry-After"]
    text = await refused.text()
    assert text == "the lock service cannot be reached; retry later\n"
    assert (await client.head(path, headers=TUS)).status == 503
    not_ready = await client.get("/readyz")
    assert not_ready.status == 503
    assert await not_ready.text() == "not ready: the lock service cannot be reached; retry later\n"
    assert (tmp_path / "up" / _id(path)).read_bytes() == b"x" * 5 + b"a" * 10  # nothing more
    own_redis.start()
    for _ in range(100):
        head = await client.head(path, headers=TUS)
        if head.status == 200:
            break
        await asyncio.sleep(0.05)
    assert head.status == 200, "the server did not come back with Redis"
    assert head.headers["Upload-Offset"] == "15"
    assert (await client.get("/readyz")).status == 200
    finished = await patch(client, path, 15, b"z" * 85)
    assert finished.status == 204
    assert finished.headers["Upload-Offset"] == "100"


def test_tus_serve_checks_its_locker_before_serving(redis_server: RedisServer) -> None:
    settings = load_settings({"locker": redis_server.url, "workers": "2"})
    locker = shared_locker(settings)
    assert isinstance(locker, RedisLocker)
    assert locker.url == redis_server.url


async def test_the_app_closes_its_redis_connections_when_it_stops(
    make_locker: MakeLocker, make_app: MakeApp, redis_server: RedisServer
) -> None:
    client = await make_app(make_locker())
    path = await create(client, 3)
    assert (await patch(client, path, 0, b"abc")).status == 204
    raw: Redis = Redis.from_url(redis_server.url)
    try:
        assert len(await raw.client_list()) > 1  # the app's commands and its subscription
        await client.close()
        for _ in range(50):
            if len(await raw.client_list()) == 1:
                break
            await asyncio.sleep(0.02)
        assert len(await raw.client_list()) == 1  # only this one is left
    finally:
        await raw.aclose()


async def test_a_delete_whose_lease_lapses_during_its_hook_deletes_nothing(
    make_locker: MakeLocker, make_app: MakeApp, redis_server: RedisServer
) -> None:
    locker = make_locker(lease=0.6)
    raw: Redis = Redis.from_url(redis_server.url)

    async def pre_terminate(request: web.Request, resource: Resource) -> bool:
        await raw.set(locker.key(resource.id), "someone-else", px=10_000)  # taken away
        await asyncio.sleep(0.5)  # a slow hook; the next renewal finds the lock gone
        return True

    try:
        client = await make_app(locker, hooks=Hooks(pre_terminate=pre_terminate))
        path = await create(client, 10)
        response = await client.delete(path, headers=TUS)
        assert response.status == 503
        assert "lapsed" in await response.text()
        await raw.delete(locker.key(_id(path)))
        assert await offset_of(client, path) == 0  # still there
    finally:
        await raw.aclose()
