"""Built-in CORS for browser clients (digest §4.7, tusd ``config.go``). No I/O.

The allow-list is checked on every tus request that carries ``Origin``; a refused origin
gets 403. ``Access-Control-Expose-Headers`` goes on actual responses (tusd#1059) and lists
every tus response header, ``Upload-Expires`` included, and the IETF draft's. A preflight
(OPTIONS with ``Access-Control-Request-Method``) gets the allowed methods and headers.
"""

from collections.abc import Mapping

from tuskit_common import Forbidden, headers
from tuskit_server._config import Cors
from tuskit_server._draft_rules import DRAFT_REQUEST_HEADERS, DRAFT_RESPONSE_HEADERS

__all__ = ["cors_headers", "is_preflight", "preflight_headers"]

_METHODS = "POST, HEAD, PATCH, OPTIONS, GET, DELETE"


def _allowed(cors: Cors, origin: str) -> bool:
    return "*" in cors.origins or origin in cors.origins


def cors_headers(cors: Cors | None, request_headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for an actual response; {} without ``Origin`` or with CORS off.

    Raises:
        Forbidden: the origin is not allowed (403).
    """
    origin = request_headers.get(headers.ORIGIN)
    if cors is None or origin is None:
        return {}
    if not _allowed(cors, origin):
        raise Forbidden(f"origin {origin!r} is not allowed", code="origin_not_allowed")
    result = {
        headers.ACCESS_CONTROL_ALLOW_ORIGIN: origin,
        headers.VARY: headers.ORIGIN,
        headers.ACCESS_CONTROL_EXPOSE_HEADERS: ", ".join(
            [*headers.RESPONSE_HEADERS, *DRAFT_RESPONSE_HEADERS, *cors.expose_headers]
        ),
    }
    if cors.credentials:
        result[headers.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
    return result


def is_preflight(method: str, request_headers: Mapping[str, str]) -> bool:
    """True for a CORS preflight request."""
    return (
        method == "OPTIONS"
        and headers.ORIGIN in request_headers
        and headers.ACCESS_CONTROL_REQUEST_METHOD in request_headers
    )


def preflight_headers(cors: Cors) -> dict[str, str]:
    """The extra headers of a preflight answer."""
    return {
        headers.ACCESS_CONTROL_ALLOW_METHODS: _METHODS,
        headers.ACCESS_CONTROL_ALLOW_HEADERS: ", ".join(
            [*headers.REQUEST_HEADERS, *DRAFT_REQUEST_HEADERS, *cors.allow_headers]
        ),
        headers.ACCESS_CONTROL_MAX_AGE: str(cors.max_age),
    }
