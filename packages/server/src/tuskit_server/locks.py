"""Per-upload locks: the :class:`Locker` protocol and the in-process :class:`MemoryLocker`.

Model: tusd's ``Lock(ctx, requestRelease)`` (digest §4.3). A request acquiring a busy lock
first asks the holder to let go, through the ``on_release`` callback the holder registered;
a PATCH then stops reading, persists what it has and answers 400, and the newcomer gets the
lock. Waits are bounded: after ``wait`` seconds :class:`tuskit_common.Locked` (423) is
raised, which tus clients retry. A Redis locker implements the same two protocols.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

from tuskit_common import Locked

__all__ = ["Lock", "Locker", "MemoryLocker", "hold"]


@runtime_checkable
class Lock(Protocol):
    """The lock of one upload, for one request."""

    async def acquire(self, *, wait: float, on_release: Callable[[], None]) -> None:
        """Take the lock, asking a current holder to release it first.

        Args:
            wait: seconds to wait at most.
            on_release: called (any number of times) when another request wants the lock.

        Raises:
            Locked: not acquired within ``wait``.
        """

    async def release(self) -> None:
        """Give the lock back; must only be called after a successful :meth:`acquire`."""


@runtime_checkable
class Locker(Protocol):
    """Hands out locks by upload id."""

    def new_lock(self, upload_id: str) -> Lock:
        """A lock object for ``upload_id`` (not yet acquired)."""


class MemoryLocker:
    """Locks that live in this process's event loop (one server process)."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[Callable[[], None], asyncio.Event]] = {}

    def new_lock(self, upload_id: str) -> "_MemoryLock":
        """A lock object for ``upload_id``."""
        return _MemoryLock(self, upload_id)

    def is_locked(self, upload_id: str) -> bool:
        """True while some request holds the lock (for tests and diagnostics)."""
        return upload_id in self._held


class _MemoryLock:
    __slots__ = ("_id", "_locker", "_mine")

    def __init__(self, locker: MemoryLocker, upload_id: str) -> None:
        self._locker = locker
        self._id = upload_id
        self._mine: asyncio.Event | None = None

    async def acquire(self, *, wait: float, on_release: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        held = self._locker._held
        while (current := held.get(self._id)) is not None:
            request_release, released = current
            request_release()
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    await released.wait()
            except TimeoutError:
                raise Locked("the upload is busy with another request; retry later") from None
        self._mine = asyncio.Event()
        held[self._id] = (on_release, self._mine)

    async def release(self) -> None:
        mine = self._mine
        if mine is None:
            raise RuntimeError("release() without acquire()")
        self._mine = None
        current = self._locker._held.get(self._id)
        if current is not None and current[1] is mine:
            del self._locker._held[self._id]
        mine.set()


@asynccontextmanager
async def hold(
    locker: Locker, upload_id: str, *, wait: float, on_release: Callable[[], None]
) -> AsyncIterator[None]:
    """Hold ``upload_id``'s lock for the ``async with`` block."""
    lock = locker.new_lock(upload_id)
    await lock.acquire(wait=wait, on_release=on_release)
    try:
        yield
    finally:
        await lock.release()
