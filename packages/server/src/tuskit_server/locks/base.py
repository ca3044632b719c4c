"""What every locker is: the :class:`Lock` and :class:`Locker` protocols, the :class:`Lease`
a lock on a shared service may add, and :func:`hold`, which yields a :class:`Fence`.

Model: tusd's ``Lock(ctx, requestRelease)`` (digest §4.3). A request acquiring a busy lock
first asks the holder to let go, through the ``on_release`` callback the holder registered;
a PATCH then stops reading, persists what it has and answers 400, and the newcomer gets the
lock. Waits are bounded: after ``wait`` seconds :class:`tuskit_common.Locked` (423) is
raised, which tus clients retry.

A lock kept on another service (Redis) is a lease: it can lapse while held (the process
paused past its expiry, the service unreachable). Such a lock is also a :class:`Lease`; the
:class:`Fence` that :func:`hold` yields tells the holder whether the lock is still its own
and calls it back the moment it is not, so a body stops reaching the store before anything
more is committed. Locks of one machine never lapse: their fence always holds.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

from tuskit_server.errors import LockLost

__all__ = ["BUSY_MESSAGE", "Fence", "Lease", "Lock", "Locker", "hold"]

BUSY_MESSAGE = "the upload is busy with another request; retry later"


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


@runtime_checkable
class Lease(Protocol):
    """A lock that can lapse while held (its expiry passed, its service unreachable)."""

    @property
    def held(self) -> bool:
        """True while the lock is certainly still this holder's."""

    def on_lapse(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, as soon as :attr:`held` turns False while held."""


class Fence:
    """What a lock holder asks before it commits: is the lock still mine?"""

    __slots__ = ("_lease",)

    def __init__(self, lock: Lock) -> None:
        self._lease = lock if isinstance(lock, Lease) else None  # probed once, not per piece

    @property
    def held(self) -> bool:
        """False once a :class:`Lease` lapsed; always True for other locks."""
        return self._lease is None or self._lease.held

    def check(self) -> None:
        """Raise :class:`LockLost` (503) unless the lock is still held."""
        if not self.held:
            raise LockLost("the upload's lock lapsed before this request finished; retry")

    def on_lapse(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` as soon as the lock lapses (never, for a lock that cannot)."""
        if self._lease is not None:
            self._lease.on_lapse(callback)


@asynccontextmanager
async def hold(
    locker: Locker, upload_id: str, *, wait: float, on_release: Callable[[], None]
) -> AsyncIterator[Fence]:
    """Hold ``upload_id``'s lock for the ``async with`` block; yields its :class:`Fence`."""
    lock = locker.new_lock(upload_id)
    await lock.acquire(wait=wait, on_release=on_release)
    try:
        yield Fence(lock)
    finally:
        await lock.release()
