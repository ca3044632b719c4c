"""The :class:`FileLocker`: locks shared by the processes of one machine through range locks
on one lock file (``tus serve --workers``)."""

import asyncio
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from tuskit_common import Locked
from tuskit_server.locks._record_locks import require_record_locks, try_lock, unlock
from tuskit_server.locks.base import BUSY_MESSAGE
from tuskit_server.locks.memory import MemoryLocker

__all__ = ["FileLocker"]


class FileLocker:
    """Locks shared by every process that uses the same lock file (``tus serve --workers``).

    Within a process a :class:`MemoryLocker` orders the requests; between processes each
    upload owns two bytes of the lock file, found by hashing its id: a range lock on the
    first is the lock itself, and a waiter holds a shared lock on the second while it waits.
    The holder looks at that second byte every ``check_every`` seconds and, when someone
    wants it, is asked to let go exactly as within one process (digest §4.3). A waiter
    tries again every ``poll`` seconds until its ``wait`` runs out (423).

    The lock file is opened on first use in each process (so forked workers never share an
    opening) and must live on a local file system. Nothing is written to it.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, poll: float = 0.02, check_every: float = 0.25
    ) -> None:
        require_record_locks()
        self.path = Path(path)
        self.poll = poll
        self.check_every = check_every
        self._memory = MemoryLocker()
        self._fd: int | None = None
        self._pid = 0

    def new_lock(self, upload_id: str) -> "_FileLock":
        """A lock object for ``upload_id``."""
        return _FileLock(self, upload_id)

    def is_locked(self, upload_id: str) -> bool:
        """True while a request of this process holds or waits for the lock."""
        return self._memory.is_locked(upload_id)

    async def file(self) -> int:
        """This process's opening of the lock file (opened once, in a worker thread)."""
        if self._fd is None or self._pid != os.getpid():
            fd = await asyncio.to_thread(os.open, self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if self._fd is not None and self._pid == os.getpid():
                os.close(fd)  # another request of this process opened it meanwhile
            else:
                self._fd, self._pid = fd, os.getpid()
        return self._fd

    def close(self) -> None:
        """Close this process's opening (every lock it held is dropped with it)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def _slot(upload_id: str) -> int:
    """The first of the two bytes of ``upload_id`` in the lock file (even, below 2**62)."""
    digest = hashlib.blake2b(upload_id.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 3) * 2


class _FileLock:
    __slots__ = ("_fd", "_id", "_locker", "_memory", "_slot", "_watch")

    def __init__(self, locker: FileLocker, upload_id: str) -> None:
        self._locker = locker
        self._id = upload_id
        self._slot = _slot(upload_id)
        self._memory = locker._memory.new_lock(upload_id)
        self._fd: int | None = None
        self._watch: asyncio.TimerHandle | None = None

    async def acquire(self, *, wait: float, on_release: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        await self._memory.acquire(wait=wait, on_release=on_release)
        try:
            fd = await self._locker.file()
            await self._take(fd, deadline)
        except BaseException:
            await self._memory.release()
            raise
        self._fd = fd
        self._watch = loop.call_later(self._locker.check_every, self._check, on_release)

    async def _take(self, fd: int, deadline: float) -> None:
        """Take the upload's byte, showing that we want it while another process has it."""
        loop = asyncio.get_running_loop()
        wanting = False
        try:
            while not try_lock(fd, self._slot, exclusive=True):
                wanting = wanting or try_lock(fd, self._slot + 1, exclusive=False)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise Locked(BUSY_MESSAGE)
                await asyncio.sleep(min(self._locker.poll, remaining))
        finally:
            if wanting:
                unlock(fd, self._slot + 1)

    def _check(self, on_release: Callable[[], None]) -> None:
        """Ask our holder to let go when a request of another process waits."""
        fd = self._fd
        if fd is None:
            return
        if try_lock(fd, self._slot + 1, exclusive=True):
            unlock(fd, self._slot + 1)
        else:
            on_release()
        loop = asyncio.get_running_loop()
        self._watch = loop.call_later(self._locker.check_every, self._check, on_release)

    async def release(self) -> None:
        fd = self._fd
        if fd is None:
            raise RuntimeError("release() without acquire()")
        self._fd = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        try:
            unlock(fd, self._slot)
        finally:
            await self._memory.release()
