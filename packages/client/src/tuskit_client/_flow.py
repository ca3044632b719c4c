"""The decisions of an upload as sans-IO generators: no I/O, no sleeping, no clock of its own.

:meth:`UploadFlow.upload` goes: resume a known upload, or OPTIONS -> capability checks ->
POST (with the first chunk when creation-with-upload is offered) -> PATCH chunk by chunk. A
failure goes to the retry policy in one place (:meth:`Calls._decide`, which asks
:func:`tuskit_client._retry.decide`): back off and ask the server's offset, re-sync from a
409, resend after a 460, or give up. The flow yields the commands of ``_commands``; a driver
carries them out - the async ``_engine`` or the blocking ``sync`` - so one flow serves both,
and tests drive it by hand with built heads.
"""

from datetime import datetime
from typing import NamedTuple

from yarl import URL

from tuskit_client import _steps
from tuskit_client._calls import Calls
from tuskit_client._choice import Asked, negotiate
from tuskit_client._commands import Flow, Forget, Memory, Range, Remember, Split, read, send, sleep
from tuskit_client._draft_steps import DraftCapabilities
from tuskit_client._plan import RESUMABLE_CREATION_BODY, UploadPlan, check_capabilities
from tuskit_client._progress import Progress, Span
from tuskit_client._results import UploadResult
from tuskit_client._retry import Action, Attempts, backoff_delay, is_retryable
from tuskit_client._steps import Appended
from tuskit_client._wire import Append, finished
from tuskit_client.exceptions import (
    ProtocolError,
    ResponseError,
    SourceError,
    TusClientError,
    UploadNotFound,
)
from tuskit_client.log import logger
from tuskit_common import Extension, ServerCapabilities


class Transferred(NamedTuple):
    """Where an upload stands once every byte is acknowledged."""

    offset: int
    length: int | None
    expires: datetime | None


class UploadFlow(Calls):
    """The chunk loop and whole uploads, on the retried single calls of :class:`Calls`."""

    # -- the chunk loop -------------------------------------------------------------------

    def _append(
        self,
        location: URL,
        span: Span,
        *,
        offset: int,
        length: int | None,
        checksum: str | None,
        progress: Progress | None,
        seekable: bool,
    ) -> Flow[tuple[Appended, int | None]]:
        """One PATCH at ``offset``; returns its result and the length it declared, if any.
        The PATCH that ends the source completes the upload (the draft's ``Upload-Complete``)."""
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
            streamed = length is not None and checksum is None and seekable
        if streamed:
            body: Range | Memory = Range(position, position + wanted, offset, span.part, progress)
            size, declare, digest = wanted, None, None
        else:
            data, at_end = yield from read(position, wanted, exact=length is not None)
            size = len(data)
            declare = offset + size if length is None and at_end else None
            digest = None if checksum is None else _steps.checksum_header(checksum, data)
            body = Memory(data, offset, span.part, progress)
        last = declare is not None or (length is not None and offset + size == length)
        append = Append(offset, size, declare, digest, complete=last)
        response = yield from send(self.wire.append_request(location, append, self.headers), body)
        appended = self.wire.read_append(response, append)
        return appended, declare

    def transfer(
        self,
        location: URL,
        span: Span,
        *,
        offset: int | None,
        length: int | None,
        checksum: str | None = None,
        progress: Progress | None = None,
        expires: datetime | None = None,
        seekable: bool = True,
        complete: bool | None = None,
    ) -> Flow[Transferred]:
        """Append until the server holds everything (``offset`` None: ask it first).

        One loop for every failure: a PATCH or the HEAD after one counts in the same
        :class:`tuskit_client._retry.Attempts`, which restarts after progress. ``complete``
        is the draft's word on the upload (None: done once the offset reaches the length);
        an upload the draft holds whole but incomplete gets an empty completing PATCH.
        """
        attempts = Attempts()
        resends = stalls = 0
        ask, failure = offset is None, None
        offset = offset or 0
        if progress is not None:
            progress.known(length)
            if not ask:
                progress.acknowledged(span.part, offset)
        while ask or not finished(offset, length, complete):
            if ask:
                try:
                    status = yield from send(self.wire.offset_request(location, self.headers))
                    found = self.wire.read_offset(status, location)
                except TusClientError as error:
                    attempt = attempts.failed(offset)
                    decision = self._one_request_decision(error, attempt, f"HEAD {location}")
                    if decision.action is Action.FAIL:
                        raise
                    yield from sleep(decision.delay)
                    continue
                ask, offset, complete = False, found.offset, found.complete
                expires = found.expires or expires
                if found.length is not None:
                    length = found.length
                self._check_offset(location, offset, length, failure)
                if progress is not None:
                    progress.acknowledged(span.part, offset)
                continue
            try:
                appended, declared = yield from self._append(
                    location,
                    span,
                    offset=offset,
                    length=length,
                    checksum=checksum,
                    progress=progress,
                    seekable=seekable,
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
                yield from sleep(decision.delay)
                if decision.offset is None:
                    ask, failure = True, error
                    continue
                offset = decision.offset
                self._check_offset(location, offset, length, error)
                if progress is not None:
                    progress.acknowledged(span.part, offset)
                continue
            if progress is not None:
                progress.check()
            resends = 0
            complete = appended.complete
            if appended.offset == offset and declared is None and not complete:
                # A 2xx that took nothing: back off, and give up if it never moves.
                stalls += 1
                if stalls >= self.config.retry_attempts:
                    raise ProtocolError(f"PATCH {location}: the server accepts no bytes")
                yield from sleep(
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
        return Transferred(offset, length, expires)

    @staticmethod
    def _check_offset(
        location: URL, offset: int, length: int | None, failure: BaseException | None
    ) -> None:
        if length is not None and offset > length:
            raise ProtocolError(
                f"{location}: Server offset too big ({offset} > {length} bytes)"
            ) from failure

    # -- whole uploads --------------------------------------------------------------------

    def upload(self, plan: UploadPlan) -> Flow[UploadResult]:
        """Continue the upload the plan names, or create one and send the source, in the
        protocol :func:`~tuskit_client._choice.negotiate` settles on."""
        spoken = yield from negotiate(self, plan)
        speaker = self.speaking(spoken.wire, chunk_size=self.chunk_size)
        return (yield from speaker._upload(plan, spoken.asked))

    def _upload(self, plan: UploadPlan, asked: Asked | None) -> Flow[UploadResult]:
        result = None
        if plan.url is not None:
            result = yield from self.resume(plan.url, plan)
            if result is not None:
                return result  # the caller's own URL: no stored entry to finish
            if plan.endpoint is None:
                raise UploadNotFound(
                    f"{plan.url} cannot be continued and no endpoint is known",
                    status=404,
                    headers={},
                    method="HEAD",
                    url=str(plan.url),
                )
        elif plan.stored_url is not None:
            result = yield from self.resume(plan.stored_url, plan)
            if result is None and not plan.stored_parts:
                yield Forget()
        if result is None:
            assert plan.endpoint is not None
            result = yield from self._create_or_split(plan.endpoint, plan, asked)
        if plan.remove_on_success and plan.resumable:
            yield Forget()
        logger.info("upload %s complete: %s bytes", result.url, result.offset)
        return result

    def _create_or_split(
        self, endpoint: URL, plan: UploadPlan, asked: Asked | None
    ) -> Flow[UploadResult]:
        if asked is None:
            caps = yield from self.capabilities(endpoint)
        else:
            caps = self.wire.assumed if asked.caps is None else asked.caps
        check_capabilities(caps, plan.size, plan.checksum)
        if plan.split:
            if (
                caps is not None
                and caps.supports(Extension.CONCATENATION)
                and plan.seekable
                and plan.size is not None
            ):
                result = yield Split()
                assert isinstance(result, UploadResult)
                return result
            logger.info("parallel upload not possible here; using one upload")
        cap = caps.max_append_size if isinstance(caps, DraftCapabilities) else None
        if cap is not None and (self.chunk_size is None or cap < self.chunk_size):
            logger.info("the server takes at most %d bytes a request", cap)
            capped = self.speaking(self.wire, chunk_size=max(1, cap))
            return (yield from capped.create_and_send(endpoint, caps, plan))
        return (yield from self.create_and_send(endpoint, caps, plan))

    def create_and_send(
        self, endpoint: URL, caps: ServerCapabilities | None, plan: UploadPlan
    ) -> Flow[UploadResult]:
        """POST (with the first chunk when creation-with-upload is offered), then PATCH."""
        length = plan.size
        first: bytes | None = None
        if (
            caps is not None
            and caps.supports(Extension.CREATION_WITH_UPLOAD)
            and self.chunk_size is not None
            and length != 0
        ):
            wanted = self.chunk_size if length is None else min(self.chunk_size, length)
            if plan.resumable:
                wanted = min(wanted, RESUMABLE_CREATION_BODY)
            first, at_end = yield from read(0, wanted, exact=False)
            if length is None and at_end:
                length = len(first)
        created = yield from self.create(
            endpoint,
            length=length,
            metadata_header=plan.metadata_header,
            body=first,
            checksum=plan.checksum,
            progress=plan.progress,
        )
        if plan.resumable:
            yield Remember(created.location, length)
        done = yield from self.transfer(
            created.location,
            Span(),
            offset=0 if created.offset is None and first is None else created.offset,
            length=length,
            checksum=plan.checksum,
            progress=plan.progress,
            expires=created.expires,
            seekable=plan.seekable,
            complete=created.complete,
        )
        return UploadResult(created.location, done.offset, done.length, done.expires)

    def resume(self, url: URL, plan: UploadPlan) -> Flow[UploadResult | None]:
        """HEAD an existing upload and finish it; None when it has to start afresh (404/410
        or another 4xx, a past ``Upload-Expires``, a length that differs from the source's)."""
        try:
            status = yield from self.status(url)
        except ResponseError as exc:
            if 400 <= exc.status < 500 and not is_retryable(exc):
                logger.info("upload %s cannot be resumed (%s); starting afresh", url, exc.status)
                return None
            raise
        except ProtocolError as exc:
            # e.g. a final upload still being concatenated has no Upload-Offset yet
            logger.info("upload %s cannot be resumed (%s); starting afresh", url, exc.message)
            return None
        if status.expires is not None and status.expires <= self.now():
            logger.info("upload %s expired at %s; starting afresh", url, status.expires)
            return None
        if plan.size is not None and status.length is not None and status.length != plan.size:
            logger.info(
                "upload %s has length %s, not %s; starting afresh", url, status.length, plan.size
            )
            return None
        if (status.concat_header or "").startswith("final") and not status.is_complete:
            return None
        logger.info("resuming upload %s at offset %d", url, status.offset)
        done = yield from self.transfer(
            url,
            Span(),
            offset=status.offset,
            length=status.length,
            checksum=plan.checksum,
            progress=plan.progress,
            expires=status.expires,
            seekable=plan.seekable,
            complete=status.complete,
        )
        return UploadResult(url, done.offset, done.length, done.expires, resumed=True)

    def part(
        self,
        endpoint: URL,
        known: URL | None,
        span: Span,
        *,
        length: int,
        checksum: str | None,
        progress: Progress,
        metadata_header: str | None = None,
    ) -> Flow[URL]:
        """One partial upload of a concatenation: continue it when it still exists with the
        right size, else create it (and have it remembered); returns its URL."""
        offset, url = 0, known
        if url is not None:
            try:
                status = yield from self.status(url)
            except UploadNotFound:
                logger.info("part %d (%s) is gone; creating it again", span.part, url)
                url = None
            else:
                if status.length == length:
                    offset = status.offset
                else:
                    url = None
        if url is None:
            created = yield from self.create(
                endpoint, length=length, metadata_header=metadata_header, concat="partial"
            )
            url = created.location
            yield Remember(url, length)
        yield from self.transfer(
            url, span, offset=offset, length=length, checksum=checksum, progress=progress
        )
        return url
