"""The wrapper around every tus handler: method override, decorator, CORS, error mapping.

Every tus response passes through :func:`make_view`'s wrapper (and the ``Expect`` check,
:mod:`tuskit_server._expect_continue`, through the same pieces), which (1) checks the CORS
origin, (2) applies ``X-HTTP-Method-Override`` on a POST to an upload URL, so that the
decorator, CORS and the handler all see the effective method (digest §4.6), (3) runs the
user's ``decorator`` around every handler but OPTIONS (aiohttp-tus), and (4) maps every
error to a response in one place and adds ``Tus-Resumable`` and the CORS headers.
"""

from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from aiohttp import web
from multidict import CIMultiDict

from tuskit_common import MethodNotAllowed, ProtocolError, ServerError, headers
from tuskit_server import _rules
from tuskit_server._config import Handler
from tuskit_server._cors import cors_headers, is_preflight
from tuskit_server._endpoint import Endpoint
from tuskit_server._input_rules import LIST_HEADERS, SINGLE_HEADERS, fold_header
from tuskit_server._responses import error_response, finish_response, http_exception_response
from tuskit_server.access_log import RECEIVED_KEY
from tuskit_server.errors import HookFailed
from tuskit_server.log import logger

__all__ = [
    "MethodHandler",
    "decorate",
    "decorated",
    "effective_request",
    "make_view",
    "respond_error",
]

#: Error codes after which the connection closes: the body was refused unread or its
#: framing broke, so what follows on the connection cannot be trusted as a request.
_CLOSING_CODES = frozenset({"content_encoding_refused", "body_malformed"})
_FOLDED = SINGLE_HEADERS + LIST_HEADERS

MethodHandler = Callable[[Endpoint, web.Request], Awaitable[web.StreamResponse]]


def decorate(endpoint: Endpoint, method: str, handler: Handler) -> Handler:
    """``handler`` in the user's decorator, except for OPTIONS (aiohttp-tus)."""
    decorator = endpoint.config.decorator
    return handler if decorator is None or method == "OPTIONS" else decorator(handler)


def decorated(endpoint: Endpoint, handlers: Mapping[str, MethodHandler]) -> dict[str, Handler]:
    """Bind each handler to the endpoint and wrap it in the user's decorator (not OPTIONS)."""
    return {
        method: decorate(endpoint, method, partial(handler, endpoint))
        for method, handler in handlers.items()
    }


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


def with_folded_headers(request: web.Request) -> web.Request:
    """The request with each repeated tus header as one value (RFC 9110 §5.3): list
    headers joined, single-value headers only when every line agrees.

    Raises:
        InvalidHeader: a single-value header repeated with different values (400).
    """
    sent = request.headers
    folded: dict[str, str] | None = None
    for name in _FOLDED:
        values = sent.getall(name, ())
        if len(values) > 1:
            folded = folded or {}
            folded[name] = fold_header(name, values)
    if folded is None:
        return request
    merged = CIMultiDict(sent)
    for name, value in folded.items():
        merged[name] = value
    return request.clone(headers=merged)


def effective_request(request: web.Request, *, on_upload: bool) -> web.Request:
    """The request every handler, the decorator and CORS see: repeated headers folded,
    then ``X-HTTP-Method-Override`` applied.

    Raises:
        InvalidHeader: conflicting repeated headers. MethodNotAllowed: a bad override.
    """
    return with_effective_method(with_folded_headers(request), on_upload=on_upload)


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
            request = effective_request(request, on_upload=on_upload)
            method = request.method
            handler = views.get(method)
            if handler is None:
                raise MethodNotAllowed(f"{method} is not allowed here")
            response = await handler(request)
        except MethodNotAllowed as exc:
            response = respond_error(endpoint, exc)
            response.headers[headers.ALLOW] = allow
        except ProtocolError as exc:
            if isinstance(exc, HookFailed) and endpoint.metrics is not None:
                endpoint.metrics.hook_errors.labels(exc.hook).inc()
            response = respond_error(endpoint, exc)
            if exc.code in _CLOSING_CODES:
                response.force_close()
        except web.HTTPException as exc:
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
