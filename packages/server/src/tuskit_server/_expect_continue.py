"""``Expect: 100-continue``: reject before the client sends the body (digest §4.9).

aiohttp runs a route's expect handler before the view *and before any middleware*, so this
handler runs the view's own body-free checks (version 412, media type 415, unknown or gone
id 404/410, final 403, offset 409, sizes 413, headers and checksum algorithm 400) inside the
user's decorator (auth), with the views' method override and error mapping, and adds
``Tus-Resumable`` and CORS itself.
When everything passes it writes the ``100 Continue`` line as aiohttp's default does; the
view re-checks under the lock.
"""

from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web
from aiohttp.http import HttpVersion11

from tuskit_common import ProtocolError, headers
from tuskit_server import _rules
from tuskit_server._cors import cors_headers
from tuskit_server._endpoint import Endpoint
from tuskit_server._handler_wrapper import decorate, effective_request, respond_error
from tuskit_server._responses import finish_response
from tuskit_server.handlers import draft
from tuskit_server.handlers._shared import plan_patch, precheck_append
from tuskit_server.handlers.post import precheck_creation

__all__ = ["make_expect_handler"]

ExpectHandler = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


async def _precheck(endpoint: Endpoint, passed: web.Response, request: web.Request) -> web.Response:
    """The body-free checks of the view for this method; ``passed`` when they all pass."""
    version = draft.draft_of(endpoint, request)
    if version is not None:
        # not ``or passed``: a response is an empty mapping, falsy, before aiohttp 3.12
        rejection = await draft.precheck(endpoint, request, version)
        return passed if rejection is None else rejection
    if request.method == "POST":
        precheck_creation(endpoint, request)
    elif request.method == "PATCH":
        checked = precheck_append(endpoint, request)
        composer = await endpoint.store(request)
        await plan_patch(endpoint, request, composer, checked)
    else:
        _rules.check_version(request.headers.get(headers.TUS_RESUMABLE))
    return passed


def make_expect_handler(endpoint: Endpoint, *, on_upload: bool) -> ExpectHandler:
    """The expect handler for the POST/PATCH routes of one tus URL."""

    async def expect_handler(request: web.Request) -> web.StreamResponse | None:
        cors: dict[str, str] = {}
        rejection: web.StreamResponse | None
        try:
            expect = request.headers.get(headers.EXPECT, "")
            if expect.lower() != "100-continue":
                raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")
            cors = cors_headers(endpoint.config.cors, request.headers)
            request = effective_request(request, on_upload=on_upload)
            passed = web.Response()
            check = decorate(endpoint, request.method, partial(_precheck, endpoint, passed))
            result = await check(request)
            rejection = None if result is passed else result
        except (ProtocolError, web.HTTPException) as exc:
            rejection = respond_error(endpoint, exc)
        if rejection is not None:
            return finish_response(rejection, cors=cors)
        if request.version == HttpVersion11:
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0
        return None

    return expect_handler
