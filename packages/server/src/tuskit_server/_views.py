"""The aiohttp views of one endpoint: method override, decorator, CORS, error mapping.

Every tus response passes through :func:`make_view`'s wrapper, which (1) checks the CORS
origin, (2) applies ``X-HTTP-Method-Override`` on a POST to an upload URL, so that the
decorator, CORS and the handler all see the effective method (digest §4.6), (3) runs the
user's ``decorator`` around every handler but OPTIONS (aiohttp-tus), and (4) maps every
error to a response in one place and adds ``Tus-Resumable`` and the CORS headers.
"""

from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from aiohttp import web

from tuskit_common import MethodNotAllowed, ProtocolError, ServerError, headers
from tuskit_server import _rules
from tuskit_server._config import Handler
from tuskit_server._cors import cors_headers, is_preflight
from tuskit_server._endpoint import Endpoint
from tuskit_server._responses import error_response, finish_response, http_exception_response
from tuskit_server.access_log import RECEIVED_KEY
from tuskit_server.errors import HookFailed
from tuskit_server.log import logger

__all__ = ["MethodHandler", "decorated", "make_view", "respond_error"]

MethodHandler = Callable[[Endpoint, web.Request], Awaitable[web.StreamResponse]]


def decorated(endpoint: Endpoint, handlers: Mapping[str, MethodHandler]) -> dict[str, Handler]:
    """Bind each handler to the endpoint and wrap it in the user's decorator (not OPTIONS)."""
    decorator = endpoint.config.decorator
    result: dict[str, Handler] = {}
    for method, handler in handlers.items():
        view: Handler = partial(handler, endpoint)
        if decorator is not None and method != "OPTIONS":
            view = decorator(view)
        result[method] = view
    return result


def respond_error(endpoint: Endpoint, error: BaseException) -> web.Response:
    """Any failure as a response: protocol errors, aiohttp HTTP exceptions, or a 500."""
    if isinstance(error, ProtocolError):
        return error_response(error, retry_after=endpoint.config.retry_after)
    if isinstance(error, web.HTTPException):
        return http_exception_response(error)
    return error_response(ServerError("internal server error"))


def with_effective_method(request: web.Request, *, on_upload: bool) -> web.Request:
    """The request as its ``X-HTTP-Method-Override`` makes it (digest §4.6), so that auth,
    CORS and the decorator all see the effective method.

    Raises:
        MethodNotAllowed: the override names a method that is not allowed here.
    """
    method = _rules.effective_method(
        request.method, request.headers.get(headers.X_HTTP_METHOD_OVERRIDE), on_upload=on_upload
    )
    return request if method == request.method else request.clone(method=method)


def make_view(
    endpoint: Endpoint, handlers: Mapping[str, MethodHandler], *, on_upload: bool
) -> Handler:
    """The single aiohttp handler registered for every method of one tus URL."""
    views = decorated(endpoint, handlers)
    allow = ", ".join(sorted(handlers))

    async def view(request: web.Request) -> web.StreamResponse:
        original = request
        method = request.method
        cors: dict[str, str] = {}
        try:
            cors = cors_headers(endpoint.config.cors, request.headers)
            request = with_effective_method(request, on_upload=on_upload)
            method = request.method
            handler = views.get(method)
            if handler is None:
                raise MethodNotAllowed(f"{method} is not allowed here")
            response = await handler(request)
        except MethodNotAllowed as exc:
            response = respond_error(endpoint, exc)
            response.headers[headers.ALLOW] = allow
        except (ProtocolError, web.HTTPException) as exc:
            if isinstance(exc, HookFailed) and endpoint.metrics is not None:
                endpoint.metrics.hook_errors.labels(exc.hook).inc()
            response = respond_error(endpoint, exc)
        except Exception as exc:
            logger.exception(
                "unexpected error serving %s %s (request id %s)",
                method,
                request.path,
                request.headers.get(headers.X_REQUEST_ID, "-"),
            )
            response = respond_error(endpoint, exc)
        except BaseException:
            endpoint.socket_taken(request)  # forget it: the connection is going away
            raise
        if is_preflight(method, request.headers):
            cors.pop(headers.ACCESS_CONTROL_EXPOSE_HEADERS, None)
        if endpoint.socket_taken(request):
            response.force_close()  # "Connection: close": aiohttp's parser is mid-body
        if request is not original and RECEIVED_KEY in request:
            original[RECEIVED_KEY] = request[RECEIVED_KEY]  # for the access log
        if endpoint.metrics is not None:
            endpoint.metrics.observe(method, response.status)
        return finish_response(response, cors=cors)

    return view
