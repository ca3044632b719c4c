"""Low-level file helpers of :class:`FileStore`, each a few plain system calls.

The store's disk work runs in worker threads, and every system call there gives up the GIL
and must win it back from the event loop; Python's buffered ``open()`` adds ``fstat``,
``ioctl`` and ``lseek`` calls to each file. These helpers use ``os`` calls directly and
:class:`InfoCache` spares re-reading an info file nothing has changed, which is what makes
a small upload cheap.
"""

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Generic, TypeVar

__all__ = [
    "APPEND",
    "CREATE_NEW",
    "WRITE",
    "InfoCache",
    "Signature",
    "read_whole",
    "signature",
    "umask",
    "write_all",
]

#: Binary mode where the platform has a text mode (Windows); 0 elsewhere.
_BINARY: int = getattr(os, "O_BINARY", 0)
#: ``os.open`` flags: append to an existing file; write an existing file at given
#: positions (``splice`` refuses append mode); create a file that must not exist yet.
APPEND = os.O_WRONLY | os.O_APPEND | _BINARY
WRITE = os.O_WRONLY | _BINARY
CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY


def umask() -> int:
    """The process's umask, read from /proc where possible: setting it to read it back
    would race with files that other threads create meanwhile."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _iov_max() -> int:
    """The most buffers one ``writev`` takes (POSIX guarantees 16; Linux allows 1024)."""
    try:
        limit = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):
        return 16
    return min(limit, 1024) if limit > 0 else 16


_IOV_MAX = _iov_max()

_HAS_WRITEV = hasattr(os, "writev")

Signature = tuple[int, int, int, int]
T = TypeVar("T")


def signature(stat: os.stat_result) -> Signature:
    """What changes whenever a file is replaced or rewritten: inode, size, mtime, ctime."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def read_whole(path: str, size_hint: int) -> bytes:
    """The whole content of ``path`` (open, read until EOF, close)."""
    fd = os.open(path, os.O_RDONLY | _BINARY)
    try:
        parts = [os.read(fd, max(size_hint, 0) + 1)]
        while parts[-1]:
            parts.append(os.read(fd, 65536))
    finally:
        os.close(fd)
    return b"".join(parts)


def _writev(fd: int, buffers: list[memoryview]) -> int:
    """``os.writev``, or one ``os.write`` where the platform has no writev (Windows)."""
    if _HAS_WRITEV:
        return os.writev(fd, buffers)
    return os.write(fd, buffers[0])


def write_all(fd: int, pieces: Sequence[bytes | memoryview]) -> int:
    """Write ``pieces`` in order with as few ``writev`` calls as possible (no join); returns
    the bytes written. A short write (a full disk, a signal) continues where it stopped, so
    an error is raised only when nothing more can be written."""
    total = 0
    views = [memoryview(p) for p in pieces if len(p)]
    while views:
        batch = views[:_IOV_MAX]
        written = _writev(fd, batch)
        total += written
        consumed = 0
        while consumed < len(batch) and written >= len(batch[consumed]):
            written -= len(batch[consumed])
            consumed += 1
        views = views[consumed:]
        if written:
            views[0] = views[0][written:]
    return total


class InfoCache(Generic[T]):
    """Parsed info files by upload id, each valid while its file's :func:`signature` holds
    (another process replacing the file changes it); the oldest entries go past ``size``.
    Thread-safe: the store's worker threads share it."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[Signature, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, current: Signature) -> T | None:
        """The cached value, if the file still has the signature it was read with."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != current:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, current: Signature, value: T) -> None:
        with self._lock:
            self._entries[key] = (current, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
