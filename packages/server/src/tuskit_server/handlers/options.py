"""OPTIONS on any tus URL: capabilities, and the CORS preflight (spec §1.2 OPTIONS)."""

from aiohttp import web

from tuskit_common import headers
from tuskit_server import _rules
from tuskit_server._cors import is_preflight, preflight_headers
from tuskit_server._endpoint import Endpoint

__all__ = ["options"]


async def options(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """Tus-Version (MUST), Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm.

    The status is 204 when the request carries ``Tus-Resumable`` (any value: it is never
    refused here, spec: MUST ignore) and 200 otherwise (aiohttp-tus; the spec allows both),
    so a CORS preflight, which never carries it, keeps its 200 (some browsers reject a 204
    preflight, digest §1.2).
    """
    result = _rules.options_headers(
        extensions=endpoint.extensions,
        max_size=endpoint.config.max_size,
        algorithms=endpoint.algorithms,
    )
    cors = endpoint.config.cors
    if cors is not None and is_preflight(request.method, request.headers):
        result.update(preflight_headers(cors))
    preflight = is_preflight(request.method, request.headers)
    tus_client = headers.TUS_RESUMABLE in request.headers and not preflight
    return web.Response(status=204 if tus_client else 200, headers=result)
