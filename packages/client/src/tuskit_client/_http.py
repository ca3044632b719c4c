"""The I/O edge: sends a :class:`RequestHead` (plus a body) over one aiohttp session.

Everything below HTTP (refused or reset connections, timeouts, a peer that disappears
mid-body) becomes :class:`TransportError` with the aiohttp error as ``__cause__``, except a
:class:`SourceError` our own body raised (aiohttp wraps it), which comes out as itself; anything
with a status goes back to ``_steps`` to judge. Only the first bytes of an error body are read.
"""

import asyncio
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import Final

import aiohttp

from tuskit_client._sendfile import FileRangePayload
from tuskit_client._steps import RequestHead, ResponseHead, tus_headers, with_method_override
from tuskit_client._types import SSLArgument
from tuskit_client.exceptions import SourceError, TransportError
from tuskit_client.log import logger
from tuskit_common import headers, messages

_ERROR_BODY_LIMIT: Final = 1024

Body = bytes | AsyncIterable[bytes] | FileRangePayload | None


class Http:
    """One session, one ``ssl`` argument and one timeout, applied to every request.

    Options: ``override_method`` sends PATCH/DELETE as POST with ``X-HTTP-Method-Override``;
    ``request_id`` adds a fresh ``X-Request-ID`` to each request (and logs it), so a request
    can be found in the server's logs. ``stall_timeout`` aborts a request with a body once
    nothing has moved for that many seconds - no body piece went out and no answer came
    (tus-js-client's stall detection) - as a :class:`TransportError`, so it is retried.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        ssl: SSLArgument | None,
        timeout: aiohttp.ClientTimeout | None = None,
        override_method: bool = False,
        request_id: bool = False,
        stall_timeout: float | None = None,
    ) -> None:
        self.session = session
        # aiohttp deprecates ssl=None; it meant "default verification", which is True.
        self.ssl: SSLArgument = True if ssl is None else ssl
        self.timeout = timeout
        self.override_method = override_method
        self.request_id = request_id
        self.stall_timeout = stall_timeout

    async def send(
        self, head: RequestHead, body: Body = None, *, expect100: bool = False
    ) -> ResponseHead:
        """Send one request and return its head (and the start of an error body)."""
        limit = self.stall_timeout
        if limit is None or not isinstance(body, AsyncIterable | FileRangePayload):
            return await self._send(head, body, expect100)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(limit) as watchdog:

                def moved(*_: object) -> None:
                    watchdog.reschedule(loop.time() + limit)

                async def watched(pieces: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
                    async for piece in pieces:
                        yield piece
                        moved()

                if isinstance(body, FileRangePayload):
                    body.add_listener(moved)
                    return await self._send(head, body, expect100)
                return await self._send(head, watched(body), expect100)
        except TimeoutError as exc:
            message = f"{head.method} {head.url} stalled: no progress for {limit} s"
            raise TransportError(message) from exc

    async def _send(self, head: RequestHead, body: Body, expect100: bool) -> ResponseHead:
        if self.override_method:
            head = with_method_override(head)
        if self.request_id:
            rid = uuid.uuid4().hex
            head = messages.RequestHead(
                head.method, head.url, tus_headers(head.headers, {headers.X_REQUEST_ID: rid})
            )
            logger.debug("%s %s (request id %s)", head.method, head.url, rid)
        else:
            logger.debug("%s %s", head.method, head.url)
        kwargs: dict[str, object] = {}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        try:
            async with self.session.request(
                head.method,
                head.url,
                headers=head.headers,
                data=body,
                ssl=self.ssl,
                expect100=expect100,
                **kwargs,  # type: ignore[arg-type]
            ) as response:
                text = ""
                if response.status >= 300 and head.method != "HEAD":
                    raw = await response.content.read(_ERROR_BODY_LIMIT)
                    text = raw.decode("utf-8", "replace")
                return messages.ResponseHead(
                    status=response.status,
                    headers=response.headers,
                    url=response.url,
                    reason=response.reason or "",
                    body=text,
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if isinstance(exc.__cause__, SourceError):
                raise exc.__cause__ from None  # the source failed, not the network
            reason = str(exc) or type(exc).__name__
            raise TransportError(f"{head.method} {head.url} failed: {reason}") from exc
