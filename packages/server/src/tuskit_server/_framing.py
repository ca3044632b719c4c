"""Noticing a chunked request body whose framing breaks while the handler reads it.

aiohttp's C parser, on a malformed chunk (``zz\\r\\n``) in the middle of a body, queues a
400 for *after* the current request and never tells the body's reader: the handler would
wait for data until its idle timeout, holding the upload's lock. :func:`watch_framing`
looks every :data:`CHECK_EVERY` seconds, while a chunked body is read, for such a queued
parser error and ends the body with :class:`MalformedBody` at once (the store keeps the
bytes before it). aiohttp's pure-Python parser sets the error on the body itself, which
the reader maps the same way.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import hdrs, web
from aiohttp.http_parser import RawRequestMessage

__all__ = ["CHECK_EVERY", "MalformedBody", "watch_framing"]

#: How often a chunked body's connection is looked at while the body is read.
CHECK_EVERY = 0.05


class MalformedBody(Exception):
    """The request body's transfer framing is broken (the client's error: 400)."""


def _parser_failed(request: web.Request) -> bool:
    """Whether aiohttp queued a parser error behind this request: while a body is still
    being read, its parser emits no other message (best effort over aiohttp internals)."""
    queued = getattr(request.protocol, "_messages", None)
    if not queued:
        return False
    return any(not isinstance(message, RawRequestMessage) for message, _ in queued)


@contextmanager
def watch_framing(request: web.Request) -> Iterator[None]:
    """While the block runs, end a chunked body of ``request`` as soon as its framing
    breaks; nothing is scheduled for other bodies."""
    if hdrs.TRANSFER_ENCODING not in request.headers:
        yield
        return
    loop = asyncio.get_running_loop()
    content = request.content
    handle: asyncio.TimerHandle | None = None

    def check() -> None:
        nonlocal handle
        if content.is_eof() or content.exception() is not None:
            handle = None
            return
        if _parser_failed(request):
            content.set_exception(
                MalformedBody("the chunked framing of the request body is broken")
            )
            handle = None
            return
        handle = loop.call_later(CHECK_EVERY, check)

    handle = loop.call_later(CHECK_EVERY, check)
    try:
        yield
    finally:
        if handle is not None:
            handle.cancel()
