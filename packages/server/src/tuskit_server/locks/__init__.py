"""Per-upload locks: the :class:`Locker` and :class:`Lock` protocols (:mod:`.base`), the
in-process :class:`MemoryLocker`, the :class:`FileLocker` shared by the processes of one
machine, and, with the ``redis`` extra, :class:`tuskit_server.locks.redis.RedisLocker`
shared by several machines (imported from its module, so redis-py stays optional).
"""

from tuskit_server.locks.base import Fence, Lease, Lock, Locker, hold
from tuskit_server.locks.file import FileLocker
from tuskit_server.locks.memory import MemoryLocker

__all__ = ["Fence", "FileLocker", "Lease", "Lock", "Locker", "MemoryLocker", "hold"]
