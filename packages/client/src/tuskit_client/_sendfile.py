"""A file range as a request body, sent from a worker thread: by the kernel (``sendfile``),
or, for a chunk, through one buffer.

Why: streamed through aiohttp, every piece of a file is read into Python in a worker
thread, handed back to the loop and written to the socket from there; for a large upload
that loop is the limit. :class:`FileRangePayload` writes the request head through aiohttp as
usual, then lets a worker thread move the range with ``os.sendfile`` (file -> socket, no copy
through Python, no GIL while the kernel works). aiohttp keeps reading the socket, so an early
answer from the server is seen as before.

A body of up to :data:`COPY_MAX` (a chunk) is copied instead, a MiB at a time: ``preadv``
into one buffer, then ``write`` to the socket, still in the thread. Why: ``sendfile`` feeds
the socket at the pace it can look up page-cache pages, which a fast server outruns; that
server then wakes up for every few segments. Written from memory, a MiB lands at once, and
the server reads full socket buffers. A long body keeps ``sendfile``: the copy costs the
client CPU that a server with one long request competes for.

Where neither can apply (TLS, a transfer coding, a write buffer that did not empty, a
platform without ``sendfile``), the payload streams its fallback pieces through aiohttp.
"""

import asyncio
import contextlib
import os
import select
import socket
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import payload
from aiohttp.abc import AbstractStreamWriter

from tuskit_client.exceptions import SourceTruncated

__all__ = ["AVAILABLE", "COPY_MAX", "FileRangePayload"]

#: ``sendfile`` to a socket with Linux's semantics (offset not moved, partial sends).
AVAILABLE = sys.platform == "linux" and hasattr(os, "sendfile")

_STEP = 8 * 1024 * 1024
_NOTIFY_EVERY = 1024 * 1024
#: Bodies up to this size are copied through a buffer rather than sent with ``sendfile``.
COPY_MAX = 16 * 1024 * 1024
#: The copy's buffer: each ``preadv`` fills at most this much, then it is written out.
_COPY_STEP = 1024 * 1024


class _FileToSocket:
    """Blocking: send ``count`` bytes of ``fd`` from ``offset`` to the non-blocking socket
    ``sock``, with ``sendfile`` or, up to :data:`COPY_MAX`, through a buffer;
    ``notify(sent)`` is called (in this thread) at least every MiB and at the end.
    :meth:`stop` ends it from any thread."""

    def __init__(
        self, sock: int, fd: int, offset: int, count: int, notify: Callable[[int], None]
    ) -> None:
        self._sock = sock
        self._fd = fd
        self._offset = offset
        self._count = count
        self._notify = notify
        self.stopped = False
        self._buffer = bytearray()  # sized in run(), for the copying path only
        self._pending = memoryview(b"")  # read from the file, not yet written

    def stop(self) -> None:
        """End the send from any thread: the flag for the loop, and a shutdown of the socket,
        which wakes a waiting ``poll()`` at once (only a cancelled request stops a send, and
        its connection is dropped anyway)."""
        self.stopped = True
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(self._sock)) as dup:
            dup.shutdown(socket.SHUT_RDWR)

    def run(self) -> int:
        """The bytes sent; raises OSError when the socket fails, SourceTruncated when the file
        ends early (it shrank since its size was taken)."""
        if self._count <= COPY_MAX:
            self._buffer = bytearray(min(self._count, _COPY_STEP))
            return self._send(self._copy_some)
        return self._send(self._sendfile_some)

    def _send(self, send_some: Callable[[int], int]) -> int:
        """Call ``send_some(sent)`` until all is sent, waiting in ``poll()`` while the
        socket is full."""
        poller = select.poll()
        poller.register(self._sock, select.POLLOUT)
        sent = notified = 0
        while sent < self._count and not self.stopped:
            try:
                moved = send_some(sent)
            except BlockingIOError:
                poller.poll()
                continue
            if moved == 0:
                raise SourceTruncated(
                    f"Buffer returned unexpected EOF: the file ended {self._count - sent} bytes "
                    "early"
                )
            sent += moved
            if sent - notified >= _NOTIFY_EVERY or sent == self._count:
                self._notify(sent)
                notified = sent
        return sent

    def _sendfile_some(self, sent: int) -> int:
        return os.sendfile(
            self._sock, self._fd, self._offset + sent, min(self._count - sent, _STEP)
        )

    def _copy_some(self, sent: int) -> int:
        """Write what is left of the buffer, after refilling it from the file when empty
        (0 when the file has nothing more)."""
        if not self._pending:
            room = memoryview(self._buffer)[: self._count - sent]
            got = os.preadv(self._fd, [room], self._offset + sent)
            self._pending = room[:got]
            if not got:
                return 0
        written = os.write(self._sock, self._pending)
        self._pending = self._pending[written:]
        return written


def _moot(job: "asyncio.Future[int]") -> None:
    """Retrieve a cancelled send's outcome: its thread may fail once the connection is
    closed under it (EBADF), and asyncio would print that as never retrieved."""
    if not job.cancelled():
        job.exception()


class FileRangePayload(payload.Payload):
    """``count`` bytes of the open file ``fd`` from ``offset`` on, as an aiohttp body.

    Args:
        fd: a readable file descriptor (not closed by the payload).
        offset / count: the range.
        on_sent: called on the loop with the bytes sent so far (progress, stall watchdog).
        fallback: the same bytes as pieces, for connections ``sendfile`` cannot serve.
    """

    def __init__(
        self,
        fd: int,
        offset: int,
        count: int,
        *,
        on_sent: Callable[[int], None],
        fallback: Callable[[], AsyncIterator[bytes]],
    ) -> None:
        super().__init__(fd, content_type="application/offset+octet-stream")
        self._size = count  # aiohttp's Content-Length when the caller sets none
        self._fd = fd
        self._offset = offset
        self._count = count
        self._listeners: list[Callable[[int], None]] = [on_sent]
        self._fallback = fallback

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Also call ``listener(sent)`` on progress."""
        self._listeners.append(listener)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("a file range is not text")

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, self._count)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        sock = await self._ready_socket(writer, content_length)
        if sock is None:
            await self._write_pieces(writer)
            return
        loop = asyncio.get_running_loop()

        def notify(sent: int) -> None:
            loop.call_soon_threadsafe(self._report, sent)

        mover = _FileToSocket(sock, self._fd, self._offset, self._count, notify)
        job = asyncio.ensure_future(asyncio.to_thread(mover.run))
        try:
            await asyncio.shield(job)
        except asyncio.CancelledError:
            mover.stop()
            job.add_done_callback(_moot)
            await asyncio.wait([job])
            raise

    def _report(self, sent: int) -> None:
        for listener in self._listeners:
            listener(sent)

    async def _ready_socket(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> int | None:
        """The socket, once the head is out and nothing else is queued; None when the body
        must go through aiohttp instead."""
        transport: Any = getattr(writer, "transport", None)
        if not AVAILABLE or transport is None or content_length != self._count:
            return None
        if getattr(writer, "chunked", False) or getattr(writer, "_compress", None) is not None:
            return None
        if transport.get_extra_info("sslcontext") is not None:
            return None
        sock = transport.get_extra_info("socket")
        if sock is None:
            return None
        send_headers = getattr(writer, "send_headers", None)
        if send_headers is not None:
            send_headers()  # aiohttp >= 3.12 holds the head back to join it with the body
        await writer.drain()
        if transport.is_closing() or transport.get_write_buffer_size():
            return None
        with contextlib.suppress(AttributeError, OSError):
            return int(sock.fileno())
        return None

    async def _write_pieces(self, writer: AbstractStreamWriter) -> None:
        sent = 0
        async for piece in self._fallback():
            await writer.write(piece)
            sent += len(piece)
            self._report(sent)
