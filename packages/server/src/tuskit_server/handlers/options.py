"""OPTIONS on any tus URL: capabilities, and the CORS preflight (spec §1.2 OPTIONS)."""

from aiohttp import web

from tuskit_server import _rules
from tuskit_server._cors import is_preflight, preflight_headers
from tuskit_server._endpoint import Endpoint

__all__ = ["options"]


async def options(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """200 with Tus-Version (MUST), Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm.

    ``Tus-Resumable`` on the request is ignored, even an unsupported one (spec: MUST).
    tuskit answers 200, not 204: some browsers reject a 204 preflight (digest §1.2).
    """
    result = _rules.options_headers(
        extensions=endpoint.extensions,
        max_size=endpoint.config.max_size,
        algorithms=endpoint.algorithms,
    )
    cors = endpoint.config.cors
    if cors is not None and is_preflight(request.method, request.headers):
        result.update(preflight_headers(cors))
    return web.Response(status=200, headers=result)
