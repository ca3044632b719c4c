"""One access-log line per request, as text or JSON, for aiohttp's ``access_log_class``.

aiohttp calls :meth:`AccessLog.log` once a response is sent; the line is built from what
the request already holds (its upload id, the bytes a PATCH stored), so logging costs one
formatted line per request and nothing per chunk.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final, Literal

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from tuskit_server.log import access_logger

__all__ = ["RECEIVED_KEY", "AccessLog", "LogFormat", "access_log_options"]

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
        match_info = getattr(request, "match_info", None)
        upload_id = match_info.get("id") if match_info is not None else None
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


def access_log_options(log_format: LogFormat | None) -> dict[str, Any]:
    """``AppRunner`` keywords for the access log in ``log_format`` (None: aiohttp's own)."""
    if log_format is None:
        return {}
    return {
        "access_log_class": AccessLog,
        "access_log_format": log_format,
        "access_log": access_logger,
    }
