"""OPTIONS on any tus URL: capabilities, and the CORS preflight (spec §1.2 OPTIONS)."""

from aiohttp import web

from tuskit_server import _rules
from tuskit_server._cors import is_preflight, preflight_headers
from tuskit_server._draft_rules import draft_options_headers
from tuskit_server._endpoint import Endpoint

__all__ = ["options"]


async def options(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """Tus-Version (MUST), Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, always 200.

    The spec allows 200 or 204 and says the server MUST ignore a ``Tus-Resumable`` sent with
    OPTIONS, so the answer never depends on it; 200 is also what aiohttp-tus gives a bare
    OPTIONS, and what every browser accepts for a CORS preflight (digest §1.2).
    """
    result = _rules.options_headers(
        extensions=endpoint.extensions,
        max_size=endpoint.config.max_size,
        algorithms=endpoint.algorithms,
    )
    if endpoint.config.ietf_draft:
        result.update(draft_options_headers(endpoint.config.max_size))
    cors = endpoint.config.cors
    if cors is not None and is_preflight(request.method, request.headers):
        result.update(preflight_headers(cors))
    return web.Response(status=200, headers=result)
