"""One access-log line per request, as text or JSON, for aiohttp's ``access_log_class``.

aiohttp calls :meth:`AccessLog.log` once a response is sent; the line is built from what
the request already holds (its upload id, the bytes a PATCH stored), so logging costs one
formatted line per request and nothing per chunk. :class:`LineWriter` writes the lines from
a thread of its own, so a slow reader of the log never stalls the event loop.
"""

import asyncio
import json
import logging
import os
import queue
import threading
from datetime import UTC, datetime
from typing import IO, Any, Final, Literal

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from tuskit_server.log import access_logger

__all__ = [
    "RECEIVED_KEY",
    "AccessLog",
    "LineWriter",
    "LogFormat",
    "access_log_options",
    "drain_access_log",
]

#: The request key under which a PATCH or POST records how many upload bytes it stored
#: (a typed ``RequestKey`` where aiohttp has them, 3.14 and later).
RECEIVED_KEY: Final[Any] = (
    web.RequestKey("tuskit_server.received", int)
    if hasattr(web, "RequestKey")
    else "tuskit_server.received"
)

LogFormat = Literal["text", "json"]


class AccessLog(AbstractAccessLogger):
    """Method, path, upload id, status, bytes received and sent, duration: as
    ``2026-01-01T00:00:00Z 127.0.0.1 PATCH /files/ab 204 id=ab in=1048576 out=0 12.5ms`` or as
    one JSON object (``log_format`` ``"json"``)."""

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self.json = log_format == "json"

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        upload_id = _routed_id(request)
        if upload_id is None and response.status == 201:  # a creation: the new upload's id
            location = response.headers.get("Location")
            upload_id = location.rsplit("/", 1)[-1] if location else None
        received = request.get(RECEIVED_KEY, 0)
        sent = response.body_length
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        millis = round(time * 1000, 1)
        if self.json:
            line = json.dumps(
                {
                    "time": now,
                    "remote": request.remote,
                    "method": request.method,
                    "path": request.path,
                    "upload_id": upload_id,
                    "status": response.status,
                    "bytes_received": received,
                    "bytes_sent": sent,
                    "duration_ms": millis,
                },
                separators=(",", ":"),
            )
        else:
            line = (
                f"{now} {request.remote or '-'} {request.method} {request.path} "
                f"{response.status} id={upload_id or '-'} in={received} out={sent} {millis}ms"
            )
        self.logger.info(line)


def _routed_id(request: web.BaseRequest) -> str | None:
    """The upload id of the route that served ``request``; None when it never reached one
    (a malformed request: aiohttp asserts that ``match_info`` was set)."""
    try:
        match_info = request.match_info  # type: ignore[attr-defined]
    except (AttributeError, AssertionError):
        return None
    found = match_info.get("id")
    return found if isinstance(found, str) else None


def access_log_options(log_format: LogFormat | None) -> dict[str, Any]:
    """``AppRunner`` keywords for the access log in ``log_format`` (None: aiohttp's own)."""
    if log_format is None:
        return {}
    return {
        "access_log_class": AccessLog,
        "access_log_format": log_format,
        "access_log": access_logger,
    }


class LineWriter(logging.Handler):
    """A handler that formats on the caller's thread and writes to ``stream`` on its own
    thread; each process (a forked worker too) starts its thread on first use."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream
        self._pid = -1
        self._lines: queue.SimpleQueue[str | threading.Event] = queue.SimpleQueue()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return
        if self._pid != os.getpid():  # emit runs under self.lock: one thread starts it
            self._pid = os.getpid()
            self._lines = queue.SimpleQueue()
            writer = threading.Thread(
                target=self._write, args=(self._lines,), name="tuskit-log-writer", daemon=True
            )
            writer.start()
        self._lines.put(line)

    def _write(self, lines: "queue.SimpleQueue[str | threading.Event]") -> None:
        while True:
            item = lines.get()
            try:
                if isinstance(item, threading.Event):
                    self.stream.flush()
                    item.set()
                    continue
                self.stream.write(item)
                if lines.empty():
                    self.stream.flush()
            except (OSError, ValueError):  # the stream is gone: the line is lost, not the server
                continue

    def drain(self, timeout: float = 5.0) -> None:
        """Wait (blocking) until the lines logged so far in this process are written."""
        if self._pid != os.getpid():
            return
        written = threading.Event()
        self._lines.put(written)
        written.wait(timeout)


async def drain_access_log(_: web.Application) -> None:
    """``on_cleanup``: let the access log's writers finish before the process ends."""
    for handler in access_logger.handlers:
        if isinstance(handler, LineWriter):
            await asyncio.to_thread(handler.drain)
