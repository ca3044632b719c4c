"""Errors to responses, in exactly one place (tusd ``error.go``; style §4.6).

Every failure a handler, store, locker or hook raises ends up here as one readable
``text/plain`` line with the status from :func:`tuskit_server.errors.status_of`, plus the
headers the situation needs: ``Tus-Version`` on 412, the current ``Upload-Offset`` on 409,
``Retry-After`` on 503, ``Allow`` on 405. ``Tus-Resumable`` and CORS are added by the view
wrapper, which sees every response.
"""

from aiohttp import hdrs, web

from tuskit_common import (
    MethodNotAllowed,
    OffsetMismatch,
    ProtocolError,
    ServiceUnavailable,
    VersionUnsupported,
    headers,
)
from tuskit_common.ietf_draft import PROBLEM_JSON, Problem
from tuskit_common.values import format_list, format_uint
from tuskit_server.errors import TooManyRequests, status_of

__all__ = ["error_response", "finish_response", "http_exception_response"]

#: Methods a tus upload URL may answer (405's ``Allow``; the view narrows it per URL).
UPLOAD_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH"


def error_response(error: ProtocolError, *, retry_after: int = 5) -> web.Response:
    """The response for a protocol error; an IETF draft problem (an error with a
    ``problem``, see :mod:`tuskit_server._draft_rules`) as ``application/problem+json``."""
    problem: Problem | None = getattr(error, "problem", None)
    if problem is not None:
        response = web.Response(
            status=status_of(error), body=problem.to_json(), content_type=PROBLEM_JSON
        )
    else:
        response = web.Response(status=status_of(error), text=error.message + "\n")
    if isinstance(error, VersionUnsupported):
        response.headers[headers.TUS_VERSION] = format_list(headers.SUPPORTED_VERSIONS)
    elif isinstance(error, OffsetMismatch):
        response.headers[headers.UPLOAD_OFFSET] = format_uint(error.offset)
    elif isinstance(error, ServiceUnavailable):
        response.headers[headers.RETRY_AFTER] = str(retry_after)
    elif isinstance(error, TooManyRequests):
        response.headers[headers.RETRY_AFTER] = str(error.retry_after)
    elif isinstance(error, MethodNotAllowed):
        response.headers[headers.ALLOW] = UPLOAD_METHODS
    if error.code == "body_too_large" or error.code in ("read_timeout", "connection_reset"):
        response.force_close()
    return response


def http_exception_response(error: web.HTTPException) -> web.Response:
    """Turn an aiohttp HTTP exception (e.g. raised by a decorator) into a plain response."""
    response = web.Response(status=error.status, text=error.text, reason=error.reason)
    for name, value in error.headers.items():
        if name not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH):
            response.headers.add(name, value)
    return response


def finish_response(response: web.StreamResponse, *, cors: dict[str, str]) -> web.StreamResponse:
    """Add ``Tus-Resumable`` (every response, OPTIONS too as in the spec's own example,
    spec §1.1) and CORS headers."""
    response.headers[headers.TUS_RESUMABLE] = headers.PROTOCOL_VERSION
    for name, value in cors.items():
        if name == headers.VARY:
            response.headers.add(name, value)
        else:
            response.headers[name] = value
    return response
