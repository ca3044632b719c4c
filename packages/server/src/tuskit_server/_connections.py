"""Connection limits of a served app (``serve``, ``tus serve``): a deadline for idle
connections and request heads, a cap on open connections, and a log that stays quiet when
the process runs out of file descriptors.

- ``header_timeout``: a new connection whose first request head is not complete this long
  after it was accepted is closed (a client sending its head one byte a second is cut off).
- ``keepalive_timeout``: aiohttp closes a connection that has no complete request head
  this long after its previous response (idle keep-alive; its timer also runs from the
  connection's start). aiohttp's default is about an hour.
- ``max_connections``: a connection accepted beyond the cap gets ``503`` with
  ``Retry-After`` and is closed at once, so the descriptors it would hold stay free for the
  uploads' files. The default keeps a reserve below the process's descriptor limit.
- When ``accept()`` fails for want of descriptors or memory, asyncio retries every second
  and reports each failure with a traceback; :func:`quiet_accept_errors` logs such a
  condition once per ``log_interval`` instead.
"""

import asyncio
import errno
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from tuskit_server.log import logger

__all__ = [
    "Connections",
    "GatedRunner",
    "QuietBadRequests",
    "default_max_connections",
    "quiet_accept_errors",
]

#: Descriptors kept free for files, the lock file and the loop's own when capping.
_RESERVE = 64
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_BUSY_TEXT = b"too many open connections; retry later\n"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
    + str(len(_BUSY_TEXT)).encode()
    + b"\r\n\r\n"
    + _BUSY_TEXT
)


def default_max_connections() -> int:
    """What fits below the soft descriptor limit with a reserve (at least 16)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(16, min(10_000, soft - _RESERVE))


@dataclass(frozen=True, slots=True)
class Connections:
    """Limits for the connections of one served app (see the module)."""

    keepalive_timeout: float = 15.0
    max_connections: int | None = None
    header_timeout: float = 10.0
    log_interval: float = 60.0

    def cap(self) -> int:
        return self.max_connections or default_max_connections()


class _Throttled:
    """Logs a condition at most once per interval, saying how often it happened since."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def report(self, key: str, message: str) -> None:
        now = asyncio.get_running_loop().time()
        self._count[key] = self._count.get(key, 0) + 1
        last = self._last.get(key)
        if last is None or now - last >= self._interval:
            count = self._count.pop(key)
            self._last[key] = now
            logger.warning("%s (%d time(s) since the last report)", message, count)


class _Busy(asyncio.Protocol):
    """Answers 503 and closes: the connection beyond the cap."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(_BUSY)
        transport.close()


class _Gate:
    """The protocol factory sites hand to ``loop.create_server``: aiohttp's server while
    under the cap, :class:`_Busy` beyond it. A burst of connections is accepted before any
    of them registers with the server (``connection_made`` runs later), so handlers handed
    out but not yet connected count too, for up to a second."""

    def __init__(
        self, server: web.Server, cap: int, log: _Throttled, header_timeout: float
    ) -> None:
        self._server = server
        self._cap = cap
        self._log = log
        self._header_timeout = header_timeout
        self._fresh: list[tuple[web.RequestHandler, float]] = []

    @property
    def connections(self) -> list[web.RequestHandler]:
        """The wrapped server's open connections (the metrics count them)."""
        return self._server.connections

    def __call__(self) -> asyncio.Protocol:
        now = time.monotonic()
        if self._fresh:
            self._fresh = [(h, t) for h, t in self._fresh if h.transport is None and now - t < 1.0]
        if len(self._server.connections) + len(self._fresh) >= self._cap:
            self._log.report("cap", f"{self._cap} connections open: refusing new ones with 503")
            return _Busy()
        handler = self._server()
        self._fresh.append((handler, now))
        asyncio.get_running_loop().call_later(self._header_timeout, _head_overdue, handler)
        return handler


def _head_overdue(handler: web.RequestHandler) -> None:
    """The header deadline: close the connection if its first request head is still not
    complete (aiohttp counts the heads it parsed)."""
    if handler.transport is not None and getattr(handler, "_request_count", 1) == 0:
        handler.force_close()


def _pending(handler: web.RequestHandler) -> bool:
    """Handed out but not connected yet (aiohttp drops its manager once the connection
    is lost)."""
    return handler.transport is None and getattr(handler, "_manager", None) is not None


class GatedRunner(web.AppRunner):
    """An :class:`aiohttp.web.AppRunner` with :class:`Connections` applied."""

    def __init__(self, app: web.Application, limits: Connections, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=limits.keepalive_timeout, **kwargs)
        self._limits = limits
        self.log = _Throttled(limits.log_interval)
        self._gate: _Gate | None = None

    @property
    def server(self) -> web.Server | None:
        """What sites pass to ``loop.create_server``: the gated protocol factory."""
        server = super().server
        if server is None:
            return None
        if self._gate is None:
            limits = self._limits
            self._gate = _Gate(server, limits.cap(), self.log, limits.header_timeout)
        return cast(web.Server, self._gate)


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, log: _Throttled) -> Callable[[], None]:
    """Route the loop's ``accept()`` resource errors (EMFILE, ENFILE, ENOBUFS, ENOMEM) to
    one warning per interval; everything else to the previous handler. Returns the undo."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS:
            log.report("accept", f"cannot accept connections: {exc.strerror or exc}")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return lambda: loop.set_exception_handler(previous)


def _client_caused(exc: BaseException | None) -> BaseException | None:
    """The parse error or lost connection behind ``exc`` (aiohttp wraps a body's decoding
    error in its ``RequestPayloadError``), or None."""
    for _ in range(5):
        if exc is None or isinstance(exc, (HttpProcessingError, ConnectionError)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class QuietBadRequests(logging.Filter):
    """On aiohttp's server logger: a request aiohttp could not parse (its own 400), or a
    client gone before aiohttp could answer (e.g. its ``100 Continue``), is the client's
    doing, yet aiohttp logs each with a traceback. They are summed up instead, one line per
    ``interval`` seconds with the count and the last one."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self._interval = interval
        self._last = -interval
        self._count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = _client_caused(record.exc_info[1] if record.exc_info else None)
        if exc is None:
            return True
        self._count += 1
        now = time.monotonic()
        if now - self._last < self._interval:
            return False
        self._last = now
        text = str(exc.message if isinstance(exc, HttpProcessingError) else exc) or repr(exc)
        record.msg = "%d request(s) with malformed data or from clients gone; the last: %s"
        record.args = (self._count, text.strip().splitlines()[0])
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        self._count = 0
        return True
