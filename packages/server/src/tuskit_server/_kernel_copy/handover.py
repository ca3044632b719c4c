"""Taking the rest of a request body away from aiohttp, so the kernel can move it (``_splice``).

aiohttp reads the socket on the event loop and feeds its parser; to hand the socket to a
worker thread, :meth:`SocketHandover.take` first collects every body byte aiohttp already holds
(the payload buffer, and what its parser kept back while the buffer was full: draining the
buffer makes aiohttp parse that rest at once), then stops the loop reading the socket. From
then on the thread owns the socket until the body's last byte.

aiohttp's parser still expects those bytes afterwards, so the connection cannot carry
another request: :meth:`SocketHandover.release` ends the payload and marks the connection to close
once the response is written, and ``on_take`` lets the view add ``Connection: close``.

Only a plain socket qualifies: no TLS, a ``Content-Length`` and no transfer or content
coding (those bytes are not the body itself), Linux (``splice``).
"""

import asyncio
import socket
from collections.abc import Callable

from aiohttp import hdrs, web

from tuskit_server._kernel_copy import splice as _splice

__all__ = ["HandedOver", "SocketHandover"]

_FAMILIES = {socket.AF_INET, socket.AF_INET6, getattr(socket, "AF_UNIX", -1)}


class HandedOver:
    """A socket handed over: its descriptor, the body bytes aiohttp held, and how many more
    bytes of the body are still to be read from the socket itself."""

    __slots__ = ("count", "head", "sock")

    def __init__(self, sock: int, head: list[bytes], count: int) -> None:
        self.sock = sock
        self.head = head
        self.count = count


class SocketHandover:
    """The body of ``request`` as a socket a worker thread may read.

    Args:
        request: the aiohttp request whose body is still unread.
        on_take: called once the socket is taken (the connection then has to close).
    """

    def __init__(self, request: web.Request, on_take: Callable[[], None]) -> None:
        self._request = request
        self._on_take = on_take
        self._taken = False

    @property
    def length(self) -> int | None:
        """The body's announced length (Content-Length)."""
        return self._request.content_length

    async def arriving(self, count: int, within: float) -> bool:
        """Whether aiohttp has received ``count`` body bytes (or has a full buffer, when
        its buffer is smaller), waiting up to ``within`` seconds; nothing is read."""
        request = self._request
        content = request.content
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while content.total_bytes < count and not content.is_eof():
            if getattr(request.protocol, "_reading_paused", False):
                return True
            if loop.time() >= deadline or content.exception() is not None:
                return False
            await asyncio.sleep(0.005)
        return True

    def connected(self) -> bool:
        """Whether the client's connection is still there to be taken."""
        transport = self._request.transport
        return transport is not None and not transport.is_closing()

    def remaining(self) -> int:
        """Body bytes not received by aiohttp yet; 0 when the socket cannot be taken."""
        request = self._request
        length = request.content_length
        if not _splice.AVAILABLE or self._taken or length is None:
            return 0
        headers = request.headers
        if hdrs.TRANSFER_ENCODING in headers:
            return 0
        if headers.get(hdrs.CONTENT_ENCODING, "identity").lower() != "identity":
            return 0
        transport = request.transport
        protocol = request.protocol
        if transport is None or transport.is_closing() or protocol is None:
            return 0
        if transport.get_extra_info("sslcontext") is not None:
            return 0
        sock = transport.get_extra_info("socket")
        if sock is None or sock.family not in _FAMILIES:
            return 0
        content = request.content
        if content.exception() is not None or content.is_eof():
            return 0
        received = getattr(content, "total_bytes", None)
        if not isinstance(received, int) or not hasattr(protocol, "resume_reading"):
            return 0
        return max(length - received, 0)

    def take(self) -> HandedOver:
        """Collect aiohttp's buffered body bytes and stop the loop reading the socket.

        Runs without awaiting: no data can reach aiohttp between the last buffered byte and
        the pause. Call only after :meth:`remaining` said the socket can be taken.
        """
        request = self._request
        transport = request.transport
        length = request.content_length
        assert transport is not None
        assert length is not None
        content = request.content
        head: list[bytes] = []
        while True:
            # Each drain lets aiohttp resume reading and parse what it held back; the loop
            # ends once neither its buffer nor its parser holds anything.
            piece = content.read_nowait(-1)
            if piece:
                head.append(piece)
                continue
            if not getattr(request.protocol, "_reading_paused", False):
                break
            request.protocol.resume_reading()
        transport.pause_reading()
        self._taken = True
        self._on_take()
        sock = transport.get_extra_info("socket")
        return HandedOver(sock.fileno(), head, length - content.total_bytes)

    def release(self) -> None:
        """After the thread is done with the socket: the payload is over for aiohttp, and
        the connection closes after the response (the parser is mid-body)."""
        request = self._request
        request.content.feed_eof()  # aiohttp resumes reading the socket here...
        if request.transport is not None:
            request.transport.pause_reading()  # ...which must not happen: its parser is mid-body
        request.protocol.close()
