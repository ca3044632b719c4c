"""The in-process :class:`MemoryLocker`: one server process, locks in its event loop."""

import asyncio
from collections.abc import Callable

from tuskit_common import Locked
from tuskit_server.locks.base import BUSY_MESSAGE

__all__ = ["MemoryLocker"]


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
                raise Locked(BUSY_MESSAGE) from None
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
