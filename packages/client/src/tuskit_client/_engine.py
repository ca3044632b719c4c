"""The upload engine: drives the ``_flow`` steps over ``_http`` with the ``_retry`` policy.

One :class:`Engine` serves one client: it creates uploads (with a first chunk in the POST
when the caller passes one), reads their status, and appends a source chunk by chunk,
re-syncing with a HEAD (or a 409's offset) after failures. Sleeping, the clock and the
jitter source are injected so tests run without real delays.
"""

import asyncio
import random as _random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from yarl import URL

from tuskit_client import _flow
from tuskit_client._flow import Appended, Created, UploadStatus
from tuskit_client._http import Body, Http
from tuskit_client._retry import Action, Attempts, Decision, backoff_delay, decide
from tuskit_client._sendfile import AVAILABLE as SENDFILE
from tuskit_client._sendfile import FileRangePayload
from tuskit_client._sources import PIECE, Source
from tuskit_client._types import ProgressCallback, RetryConfiguration
from tuskit_client.exceptions import ProtocolError, ResponseError, SourceError, TusClientError
from tuskit_client.log import logger
from tuskit_common import ServerCapabilities

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Progress:
    """Sums sent / acknowledged bytes over the parts of one upload and reports them.

    ``sent`` never goes backwards, even when a chunk is re-sent after a failure. ``sent`` is
    reported from inside aiohttp's body writer, where an exception would look like a network
    failure and be retried; so a callback's error is kept and re-raised by :meth:`check`.
    """

    def __init__(self, callback: ProgressCallback | None, total: int | None) -> None:
        self.callback = callback
        self.total = total
        self.error: Exception | None = None
        self._sent: dict[int, int] = {}
        self._acked: dict[int, int] = {}

    def check(self) -> None:
        """Raise the callback's error, if it failed while bytes were being sent."""
        if self.error is not None:
            raise self.error

    def _report(self) -> None:
        if self.callback is not None:
            sent = sum(self._sent.values())
            acked = sum(self._acked.values())
            self.callback(max(sent, acked), acked, self.total)

    def known(self, length: int | None) -> None:
        """A deferred length became known (single uploads only)."""
        if self.total is None and length is not None:
            self.total = length
            self._report()

    def sent(self, part: int, value: int) -> None:
        if value > self._sent.get(part, 0) and self.error is None:
            self._sent[part] = value
            try:
                self._report()
            except Exception as exc:
                self.error = exc

    def acknowledged(self, part: int, value: int) -> None:
        if value != self._acked.get(part):
            self._acked[part] = value
            self._report()


@dataclass(frozen=True, slots=True)
class Span:
    """Where one tus upload's bytes start in the source, and which progress slot it uses."""

    start: int = 0
    part: int = 0


class Engine:
    """Protocol steps with retries, shared by every upload of one client."""

    def __init__(
        self,
        http: Http,
        config: RetryConfiguration,
        *,
        headers: Mapping[str, str] | None = None,
        chunk_size: int | None,
        sleep: Sleep | None = None,
        now: Callable[[], datetime] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        self.http = http
        self.config = config
        self.headers = dict(headers or {})
        self.chunk_size = chunk_size
        self.sleep: Sleep = asyncio.sleep if sleep is None else sleep
        self.now = _utcnow if now is None else now
        self.random = _random.random if random is None else random

    def _decide(self, error: TusClientError, attempt: int, *, resends: int) -> Decision:
        """The retry policy's verdict on one failure, with this engine's config and clock."""
        return decide(
            error,
            attempt=attempt,
            resends=resends,
            config=self.config,
            now=self.now(),
            random=self.random,
        )

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a one-request step, retrying it as the policy says (not 409/460 here)."""
        attempt = 0
        while True:
            try:
                return await operation()
            except TusClientError as error:
                if isinstance(error, ResponseError) and error.status in (409, 460):
                    raise
                attempt += 1
                decision = self._decide(error, attempt, resends=0)
                if decision.action is Action.FAIL:
                    raise
                logger.warning(
                    "%s failed (%s); attempt %d of %d, next in %.2f s",
                    what,
                    error.message,
                    attempt,
                    self.config.retry_attempts,
                    decision.delay,
                )
                await self.sleep(decision.delay)

    async def options(self, url: URL) -> ServerCapabilities:
        """OPTIONS discovery: versions, extensions, max size, checksum algorithms."""

        async def once() -> ServerCapabilities:
            head = _flow.options_request(url, self.headers)
            return _flow.read_options(await self.http.send(head))

        return await self.call(f"OPTIONS {url}", once)

    async def status(self, location: URL) -> UploadStatus:
        """HEAD: the server's offset, length, expiry and metadata for an upload."""

        async def once() -> UploadStatus:
            head = _flow.offset_request(location, self.headers)
            return _flow.read_offset(await self.http.send(head), location)

        return await self.call(f"HEAD {location}", once)

    async def delete(self, location: URL) -> None:
        """DELETE: terminate an upload."""

        async def once() -> None:
            head = _flow.termination_request(location, self.headers)
            _flow.read_termination(await self.http.send(head))

        await self.call(f"DELETE {location}", once)

    async def create(
        self,
        endpoint: URL,
        *,
        length: int | None,
        metadata_header: str | None = None,
        concat: str | None = None,
        body: bytes | None = None,
        checksum: str | None = None,
        progress: Progress | None = None,
        part: int = 0,
    ) -> Created:
        """POST: create an upload, with ``body`` as its first bytes when given."""

        async def once() -> Created:
            head = _flow.creation_request(
                endpoint,
                length=length,
                metadata_header=metadata_header,
                concat=concat,
                body_length=None if body is None else len(body),
                checksum=None
                if body is None or checksum is None
                else _flow.checksum_header(checksum, body),
                extra=self.headers,
            )
            data = None if body is None else self._pieces(body, 0, progress, part)
            try:
                response = await self.http.send(head, data, expect100=body is not None)
            finally:
                if progress is not None:
                    progress.check()  # a failing callback is the caller's error, not ours
            return _flow.read_creation(response, sent_body=None if body is None else len(body))

        created = await self.call(f"POST {endpoint}", once)
        logger.info("created upload %s", created.location)
        return created

    async def _pieces(
        self, data: bytes, offset: int, progress: Progress | None, part: int
    ) -> AsyncIterator[bytes]:
        view = memoryview(data)
        for index in range(0, len(view), PIECE):
            piece = view[index : index + PIECE]  # a view: no copy of the chunk's bytes
            yield piece  # type: ignore[misc]  # aiohttp writes any bytes-like object
            if progress is not None:
                progress.sent(part, offset + index + len(piece))

    async def _counted(
        self, pieces: AsyncIterator[bytes], offset: int, progress: Progress | None, part: int
    ) -> AsyncIterator[bytes]:
        position = offset
        async for piece in pieces:
            yield piece
            position += len(piece)
            if progress is not None:
                progress.sent(part, position)

    def _range_body(
        self,
        source: Source,
        start: int,
        end: int,
        offset: int,
        progress: Progress | None,
        part: int,
    ) -> Body:
        """Bytes ``[start, end)`` of ``source`` as a body (``offset`` is where they go in the
        upload): a range the kernel sends from a real file, else pieces streamed from the
        source."""
        fd = source.file_descriptor() if SENDFILE else None
        if fd is None:
            return self._counted(source.stream(start, end), offset, progress, part)

        def on_sent(sent: int) -> None:
            if progress is not None:
                progress.sent(part, offset + sent)

        return FileRangePayload(
            fd, start, end - start, on_sent=on_sent, fallback=lambda: source.stream(start, end)
        )

    async def _append(
        self,
        location: URL,
        source: Source,
        span: Span,
        *,
        offset: int,
        length: int | None,
        checksum: str | None,
        progress: Progress | None,
    ) -> tuple[Appended, int | None]:
        """One PATCH at ``offset``; returns its result and the length it declared, if any."""
        position = span.start + offset
        if self.chunk_size is None:
            if length is None:
                raise SourceError("a source of unknown size needs a chunk size")
            wanted = length - offset  # the rest in one request, streamed from the source
            streamed = True
        else:
            wanted = self.chunk_size if length is None else min(self.chunk_size, length - offset)
            # Nothing to compute over the chunk first: stream it from the source as it is
            # sent (no chunk-sized buffer, no pause to read it before the request).
            streamed = length is not None and checksum is None and source.seekable
        if streamed:
            body = self._range_body(
                source, position, position + wanted, offset, progress, span.part
            )
            head = _flow.append_request(
                location, offset=offset, body_length=wanted, extra=self.headers
            )
            response = await self.http.send(head, body)
            return _flow.read_append(response, offset=offset, body_length=wanted), None
        read = source.read if length is None else source.read_exact
        data, at_end = await read(position, wanted)
        declare = offset + len(data) if length is None and at_end else None
        head = _flow.append_request(
            location,
            offset=offset,
            body_length=len(data),
            declare_length=declare,
            checksum=None if checksum is None else _flow.checksum_header(checksum, data),
            extra=self.headers,
        )
        response = await self.http.send(head, self._pieces(data, offset, progress, span.part))
        return _flow.read_append(response, offset=offset, body_length=len(data)), declare

    async def transfer(
        self,
        location: URL,
        source: Source,
        span: Span,
        *,
        offset: int,
        length: int | None,
        checksum: str | None = None,
        progress: Progress | None = None,
        expires: datetime | None = None,
    ) -> tuple[int, int, datetime | None]:
        """Append until the server holds everything; returns (offset, length, expires).

        Failures follow :func:`tuskit_client._retry.decide`: back off and HEAD, re-sync from
        a 409, re-send after a 460, or raise. The attempt count restarts after progress
        (:class:`tuskit_client._retry.Attempts`).
        """
        attempts = Attempts()
        resends = stalls = 0
        if progress is not None:
            progress.known(length)
            progress.acknowledged(span.part, offset)
        while length is None or offset < length:
            try:
                appended, declared = await self._append(
                    location,
                    source,
                    span,
                    offset=offset,
                    length=length,
                    checksum=checksum,
                    progress=progress,
                )
            except TusClientError as error:
                if progress is not None:
                    progress.check()
                attempt = attempts.failed(offset)
                decision = self._decide(error, attempt, resends=resends)
                if decision.action is Action.FAIL:
                    raise
                logger.warning(
                    "PATCH %s at offset %d failed (%s); %s, attempt %d",
                    location,
                    offset,
                    error.message,
                    decision.action.value,
                    attempt,
                )
                if decision.action is Action.RESEND:
                    resends += 1
                    continue
                resends = 0
                await self.sleep(decision.delay)
                if decision.offset is not None:
                    offset = decision.offset
                else:
                    status = await self.status(location)
                    offset, expires = status.offset, status.expires or expires
                    if status.length is not None:
                        length = status.length
                if length is not None and offset > length:
                    raise ProtocolError(
                        f"{location}: Server offset too big ({offset} > {length} bytes)"
                    ) from error
                if progress is not None:
                    progress.acknowledged(span.part, offset)
                continue
            if progress is not None:
                progress.check()
            resends = 0
            if appended.offset == offset and declared is None:
                # A 2xx that took nothing: back off, and give up if it never moves.
                stalls += 1
                if stalls >= self.config.retry_attempts:
                    raise ProtocolError(f"PATCH {location}: the server accepts no bytes")
                await self.sleep(
                    backoff_delay(
                        stalls,
                        base=self.config.base_delay_seconds,
                        cap=self.config.max_retry_period_seconds,
                        random=self.random,
                    )
                )
                continue
            stalls = 0
            offset, expires = appended.offset, appended.expires or expires
            if declared is not None:
                length = declared
            if progress is not None:
                progress.known(length)
                progress.acknowledged(span.part, offset)
            logger.debug("%s: offset %d of %s", location, offset, length)
        return offset, length, expires
