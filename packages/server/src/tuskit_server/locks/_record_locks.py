"""Non-blocking byte-range locks on one open file, shared between processes.

On Linux these are open-file-description locks (``F_OFD_SETLK``): each ``open`` of the
lock file is its own owner, so two openings conflict even within one process (and tests can
play two processes), and closing some other descriptor of the file releases nothing.
Elsewhere on POSIX they are classic ``lockf`` record locks, owned by the process. Taking or
dropping a lock is a lock-table operation of the kernel, never disk I/O, so it may run on
the event loop. Windows has neither: :func:`require_record_locks` says so.
"""

import errno
import os
import struct
import sys

if sys.platform != "win32":
    import fcntl

__all__ = ["require_record_locks", "try_lock", "unlock"]

_OFD = sys.platform != "win32" and hasattr(fcntl, "F_OFD_SETLK")
#: ``struct flock``: l_type, l_whence, l_start, l_len, l_pid, padded to the alignment of
#: its 64-bit members as the C compiler lays it out.
_FLOCK = "hhqqi"
_FLOCK_SIZE = struct.calcsize(_FLOCK)
_FLOCK_PAD = b"\0" * (-_FLOCK_SIZE % struct.calcsize("P"))
_BUSY = (errno.EAGAIN, errno.EACCES)


def require_record_locks() -> None:
    """Raise a readable error where range locks are missing."""
    if sys.platform == "win32":
        raise RuntimeError("locks shared between processes need POSIX record locks (not Windows)")


def _ofd(fd: int, kind: int, start: int) -> None:
    fcntl.fcntl(
        fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, kind, os.SEEK_SET, start, 1, 0) + _FLOCK_PAD
    )


def try_lock(fd: int, start: int, *, exclusive: bool) -> bool:
    """Take the one-byte lock at ``start`` without waiting; False when another owner holds
    a conflicting one (an exclusive lock conflicts with any, a shared one with exclusive)."""
    try:
        if _OFD:
            _ofd(fd, fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK, start)
        else:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            fcntl.lockf(fd, mode | fcntl.LOCK_NB, 1, start, os.SEEK_SET)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise
    return True


def unlock(fd: int, start: int) -> None:
    """Drop this owner's lock on the byte at ``start`` (nothing happens if it holds none)."""
    if _OFD:
        _ofd(fd, fcntl.F_UNLCK, start)
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, start, os.SEEK_SET)
