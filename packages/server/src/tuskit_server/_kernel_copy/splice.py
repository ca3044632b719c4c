"""Moving a request body from a socket into a file in a worker thread, by the kernel.

Why: on the event loop every body byte is received into a Python ``bytes`` object, copied
by aiohttp's parser and handed to a thread for the write; for a large body that loop, not
the disk, is the limit. :class:`SocketToFile` runs in a worker thread instead and moves the
bytes with Linux ``splice`` (socket -> pipe -> file, no copy through Python and no GIL held
while the kernel works); where ``splice`` refuses a socket or a file system it copies
with ``read`` + ``pwrite``, still off the loop.

It never raises for the transport: it ends with an :class:`Ending` (complete, the client
closed early, reset, idle too long, stopped), and :attr:`SocketToFile.moved` counts every
byte written, so the caller persists exactly what arrived. Only a failing file write (a
full disk) raises, after the bytes before it were written.
"""

import contextlib
import enum
import errno
import fcntl
import os
import threading
import time
from collections.abc import Sequence

from tuskit_server._kernel_copy.socket_waiter import SocketWaiter
from tuskit_server._kernel_copy.stop_signal import StopSignal
from tuskit_server._kernel_copy.threads import TransferThreads

__all__ = ["AVAILABLE", "Ending", "SocketToFile", "TransferSlots"]

#: ``splice`` exists on Linux only; elsewhere bodies are iterated on the loop.
AVAILABLE = hasattr(os, "splice") and hasattr(os, "eventfd")

#: The most moved per system call, and the pipe size asked for (the kernel may refuse).
_STEP = 1024 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_RESET = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ETIMEDOUT}
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


class TransferSlots:
    """How many transfers may run at once (each holds a thread for as long as its body
    lasts), and the :attr:`threads` they run in; beyond the limit, bodies go through the
    event loop as usual. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.threads = TransferThreads()
        self._guard = threading.Lock()

    def take(self) -> bool:
        """A slot, if one is free (never waits)."""
        with self._guard:
            if self.active >= self.limit:
                return False
            self.active += 1
            return True

    def give_back(self) -> None:
        with self._guard:
            self.active -= 1


class Ending(enum.Enum):
    """How a transfer ended."""

    COMPLETE = "complete"
    SHORT = "the client closed the connection before the whole body"
    RESET = "the connection was reset"
    IDLE = "no data arrived within the idle timeout"
    STOPPED = "stopped"


class SocketToFile:
    """Write ``head`` and then the next ``count`` bytes of the socket ``sock`` into the file
    given to :meth:`run`, from ``offset`` on (positional writes: not in append mode).

    :meth:`run` blocks (call it in a worker thread); :meth:`stop` may be called from any
    thread, also before :meth:`run`, and wakes it at once.
    """

    def __init__(
        self,
        sock: int,
        *,
        offset: int,
        head: Sequence[bytes],
        count: int,
        idle_timeout: float,
    ) -> None:
        self._sock = sock
        self._fd = -1
        self._position = offset
        self._head = list(head)
        self._left = count
        self._idle_timeout = idle_timeout
        self.moved = 0
        #: ``time.monotonic()`` of the last byte moved (a stale transfer may be taken over)
        self.last_moved = time.monotonic()
        self._stop = StopSignal()

    def stop(self) -> None:
        """End the transfer soon (a newer request for the upload, shutdown, cancellation)."""
        self._stop.set()

    def run(self, fd: int) -> Ending:
        """Move the bytes into ``fd``; the ending says why it stopped. Raises OSError for
        the file."""
        self._fd = fd
        try:
            for piece in self._head:
                self._write(piece)
            self._head.clear()
            if not self._left:
                return Ending.COMPLETE
            return self._pump()
        finally:
            self._stop.close()

    def _write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self._position)
            self._advance(written)
            view = view[written:]

    def _advance(self, written: int) -> None:
        self._position += written
        self.moved += written
        self.last_moved = time.monotonic()

    def _pump(self) -> Ending:
        waiter = SocketWaiter(self._sock, self._stop, self._idle_timeout)
        pipe = _Pipe.open()
        try:
            while self._left:
                if self._stop.requested:
                    return Ending.STOPPED
                try:
                    got = self._receive(pipe)
                except BlockingIOError:
                    if not waiter.wait():
                        return Ending.IDLE
                    continue
                except OSError as exc:
                    if exc.errno in _RESET:
                        return Ending.RESET
                    raise
                if got == 0:
                    return Ending.SHORT
                waiter.moved()
                self._left -= got
            return Ending.COMPLETE
        finally:
            pipe.close()

    def _receive(self, pipe: "_Pipe") -> int:
        """Move what the socket has (at most one step) into the file; 0 at end of stream."""
        want = min(self._left, _STEP)
        if pipe.splicing:
            try:
                got = os.splice(
                    self._sock, pipe.write_end, want, flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
                )
            except OSError as exc:
                if exc.errno not in _UNSUPPORTED:
                    raise
                pipe.splicing = False  # this socket type cannot be spliced: copy instead
            else:
                self._empty(pipe, got)
                return got
        data = os.read(self._sock, want)
        self._write(data)
        return len(data)

    def _empty(self, pipe: "_Pipe", count: int) -> None:
        """Move ``count`` bytes from the pipe into the file (copying where the file system
        refuses ``splice``)."""
        while count:
            if not pipe.to_file:
                data = os.read(pipe.read_end, count)
                self._write(data)
                count -= len(data)
                continue
            try:
                written = os.splice(
                    pipe.read_end,
                    self._fd,
                    count,
                    offset_dst=self._position,
                    flags=os.SPLICE_F_MOVE,
                )
            except OSError as exc:
                if exc.errno not in _UNSUPPORTED:
                    raise
                pipe.to_file = False  # this file system cannot be spliced into: copy instead
                continue
            if not written:
                raise OSError(errno.EIO, "splice into the data file wrote nothing")
            self._advance(written)
            count -= written


class _Pipe:
    """The pipe ``splice`` moves through, made as large as the kernel allows."""

    def __init__(self, read_end: int, write_end: int) -> None:
        self.read_end = read_end
        self.write_end = write_end
        self.splicing = True
        self.to_file = True

    @classmethod
    def open(cls) -> "_Pipe":
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        with contextlib.suppress(OSError):  # the default 64 KiB works, with more calls
            fcntl.fcntl(write_end, _F_SETPIPE_SZ, _STEP)
        return cls(read_end, write_end)

    def close(self) -> None:
        os.close(self.read_end)
        os.close(self.write_end)
