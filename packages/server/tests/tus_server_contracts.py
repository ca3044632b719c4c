"""The contract suites: subclass :class:`StoreContract` and provide a ``store`` fixture, or
:class:`LockerContract` and provide a ``locker`` fixture.

Every test states one promise of :mod:`tuskit_server.stores.base` or
:mod:`tuskit_server.locks.base`; a capability's tests skip when the store does not claim it
(the composer decides, as at setup).
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tuskit_common import Gone, Locked, NotFound, OffsetMismatch, Resource
from tuskit_server.errors import UploadExists
from tuskit_server.locks import Locker, hold
from tuskit_server.stores.base import StoreComposer

NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def body(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def new(upload_id: str = "u1", length: int | None = 10, **extra: object) -> Resource:
    return Resource(id=upload_id, length=length, created_at=NOW, **extra)


class StoreContract:
    """Promises every store keeps."""

    @pytest.fixture
    def composer(self, store: object) -> StoreComposer:
        return StoreComposer.from_store(store)

    async def test_create_and_get(self, composer: StoreComposer) -> None:
        created = await composer.core.create(new(metadata_header="k"))
        assert created.offset == 0
        got = await composer.core.get("u1")
        assert (got.id, got.length, got.metadata_header, got.offset) == ("u1", 10, "k", 0)

    async def test_duplicate_id(self, composer: StoreComposer) -> None:
        await composer.core.create(new())
        with pytest.raises(UploadExists):
            await composer.core.create(new())

    @pytest.mark.parametrize("bad", ["missing", "../u1", "a/b", ""])
    async def test_unknown_and_invalid_ids(self, composer: StoreComposer, bad: str) -> None:
        with pytest.raises(NotFound):
            await composer.core.get(bad)

    async def test_write_appends_and_persists(self, composer: StoreComposer) -> None:
        await composer.core.create(new())
        expires = NOW + timedelta(hours=1)
        updated = await composer.core.write("u1", 0, body(b"ab", b"c"), expires_at=expires)
        assert updated.offset == 3
        assert updated.expires_at == expires
        updated = await composer.core.write("u1", 3, body(b"defghij"), expires_at=None)
        assert updated.is_complete
        assert (await composer.core.get("u1")).offset == 10

    async def test_write_at_wrong_offset(self, composer: StoreComposer) -> None:
        await composer.core.create(new())
        with pytest.raises(OffsetMismatch):
            await composer.core.write("u1", 4, body(b"x"), expires_at=None)

    async def test_write_never_passes_the_length(self, composer: StoreComposer) -> None:
        await composer.core.create(new(length=2))
        updated = await composer.core.write("u1", 0, body(b"abc"), expires_at=None)
        assert updated.offset == 2

    async def test_write_keeps_bytes_when_the_body_fails(self, composer: StoreComposer) -> None:
        await composer.core.create(new())

        async def failing() -> AsyncIterator[bytes]:
            yield b"abcd"
            raise ConnectionResetError

        with pytest.raises(ConnectionResetError):
            await composer.core.write("u1", 0, failing(), expires_at=None)
        assert (await composer.core.get("u1")).offset == 4

    async def test_staged_write(self, composer: StoreComposer) -> None:
        if composer.staged is None:
            pytest.skip("no checksum capability")
        await composer.core.create(new())
        await composer.core.write("u1", 0, body(b"ab"), expires_at=None)
        kept = await composer.staged.write_staged(
            "u1", 2, body(b"cd"), accept=lambda: True, expires_at=None
        )
        assert kept.offset == 4
        dropped = await composer.staged.write_staged(
            "u1", 4, body(b"ef", b"gh"), accept=lambda: False, expires_at=None
        )
        assert dropped.offset == 4
        assert (await composer.core.get("u1")).offset == 4

    async def test_declare_length(self, composer: StoreComposer) -> None:
        if composer.deferrer is None:
            pytest.skip("no defer-length capability")
        await composer.core.create(new(length=None))
        await composer.core.write("u1", 0, body(b"abc"), expires_at=None)
        declared = await composer.deferrer.declare_length("u1", 3)
        assert declared.is_complete
        assert (await composer.core.get("u1")).length == 3

    async def test_terminate(self, composer: StoreComposer) -> None:
        if composer.terminator is None:
            pytest.skip("no termination capability")
        await composer.core.create(new())
        await composer.terminator.terminate("u1")
        with pytest.raises(Gone):
            await composer.core.get("u1")
        with pytest.raises(Gone):
            await composer.terminator.terminate("u1")
        with pytest.raises(UploadExists):
            await composer.core.create(new())  # a used id is never handed out again

    async def test_expire_and_forget(self, composer: StoreComposer) -> None:
        if composer.expirer is None:
            pytest.skip("no expiration capability")
        await composer.core.create(new("old", expires_at=NOW - timedelta(seconds=1)))
        await composer.core.create(new("young", expires_at=NOW + timedelta(hours=1)))
        await composer.core.create(new("done", length=0, expires_at=NOW - timedelta(days=1)))
        assert await composer.expirer.expired(NOW) == ["old"]
        await composer.expirer.expire("old")
        with pytest.raises(Gone):
            await composer.core.get("old")
        assert await composer.expirer.forget(datetime.now(UTC) + timedelta(days=1)) == 1
        with pytest.raises(NotFound):
            await composer.core.get("old")

    async def test_concatenate(self, composer: StoreComposer) -> None:
        if composer.concatenator is None:
            pytest.skip("no concatenation capability")
        await composer.core.create(new("p1", length=2, is_partial=True))
        await composer.core.create(new("p2", length=1, is_partial=True))
        await composer.core.write("p1", 0, body(b"ab"), expires_at=None)
        await composer.core.write("p2", 0, body(b"c"), expires_at=None)
        await composer.core.create(
            new("f", length=None, is_final=True, partial_ids=("p1", "p2", "p1"))
        )
        assert [r.id for r in await composer.concatenator.pending_finals()] == ["f"]
        final = await composer.concatenator.concatenate("f", ("p1", "p2", "p1"))
        assert await composer.concatenator.pending_finals() == []
        assert (final.length, final.offset) == (5, 5)
        assert (await composer.core.get("f")).is_complete
        if composer.downloader is not None:
            path = await composer.downloader.data_path("f")
            assert path.read_bytes() == b"abcab"
        if composer.streamer is not None:
            pieces = [p async for p in composer.streamer.stream_range("f", 1, 3)]
            assert b"".join(pieces) == b"bca"


class LockerContract:
    """Promises every locker keeps (:mod:`tuskit_server.locks.base`)."""

    async def test_lock_is_exclusive_and_asks_holder(self, locker: Locker) -> None:
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

    async def test_release_without_acquire_fails(self, locker: Locker) -> None:
        with pytest.raises(RuntimeError):
            await locker.new_lock("x").release()

    async def test_a_failed_wait_holds_nothing(self, locker: Locker) -> None:
        held = locker.new_lock("a")
        await held.acquire(wait=1, on_release=lambda: None)
        with pytest.raises(Locked):
            await locker.new_lock("a").acquire(wait=0.05, on_release=lambda: None)
        await held.release()
        again = locker.new_lock("a")
        await again.acquire(wait=0.05, on_release=lambda: None)  # nothing left behind
        await again.release()

    async def test_the_fence_holds_while_the_lock_is_held(self, locker: Locker) -> None:
        async with hold(locker, "a", wait=1, on_release=lambda: None) as fence:
            assert fence.held
            fence.check()
