"""``Expect: 100-continue``: reject before the client sends the body (digest §4.9).

aiohttp runs a route's expect handler before the view *and before any middleware*, so this
handler repeats the body-free checks (version 412, media type 415, auth via the decorator,
unknown or gone id 404/410, final 403, offset 409, sizes 413, headers and checksum
algorithm 400) and builds complete responses itself, ``Tus-Resumable`` and CORS included.
When everything passes it writes the ``100 Continue`` line as aiohttp's default does; the
view re-checks under the lock.
"""

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http import HttpVersion11

from tuskit_common import ProtocolError, headers
from tuskit_server import _rules
from tuskit_server._cors import cors_headers
from tuskit_server._endpoint import Endpoint
from tuskit_server._responses import finish_response
from tuskit_server._views import respond_error, with_effective_method, with_folded_headers
from tuskit_server.handlers._shared import load, precheck_append
from tuskit_server.handlers.post import precheck_creation

__all__ = ["make_expect_handler"]

ExpectHandler = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


async def _authorised(endpoint: Endpoint, request: web.Request) -> web.StreamResponse | None:
    """Run the decorator around a probe: None when it lets the request through, else its
    own answer (or it raises, e.g. ``web.HTTPForbidden``)."""
    decorator = endpoint.config.decorator
    if decorator is None:
        return None
    marker = web.Response()

    async def probe(_: web.Request) -> web.StreamResponse:
        return marker

    result = await decorator(probe)(request)
    return None if result is marker else result


async def _precheck(endpoint: Endpoint, request: web.Request, method: str) -> None:
    if method == "POST":
        precheck_creation(endpoint, request)
    elif method == "PATCH":
        checked = precheck_append(endpoint, request)
        composer = await endpoint.store(request)
        resource = await load(endpoint, composer, checked.upload_id)
        _rules.plan_append(
            resource,
            offset_header=request.headers.get(headers.UPLOAD_OFFSET),
            length_header=request.headers.get(headers.UPLOAD_LENGTH),
            content_length=checked.content_length,
            max_size=endpoint.config.max_size,
        )
    else:
        _rules.check_version(request.headers.get(headers.TUS_RESUMABLE))


def make_expect_handler(endpoint: Endpoint, *, on_upload: bool) -> ExpectHandler:
    """The expect handler for the POST/PATCH routes of one tus URL."""

    async def expect_handler(request: web.Request) -> web.StreamResponse | None:
        method = request.method
        cors: dict[str, str] = {}
        try:
            expect = request.headers.get(headers.EXPECT, "")
            if expect.lower() != "100-continue":
                raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")
            cors = cors_headers(endpoint.config.cors, request.headers)
            request = with_folded_headers(request)
            request = with_effective_method(request, on_upload=on_upload)
            method = request.method
            rejection = await _authorised(endpoint, request)
            if rejection is None:
                await _precheck(endpoint, request, method)
        except (ProtocolError, web.HTTPException) as exc:
            rejection = respond_error(endpoint, exc)
        if rejection is not None:
            return finish_response(rejection, cors=cors)
        if request.version == HttpVersion11:
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0
        return None

    return expect_handler
