"""Single protocol calls as sans-IO flows, each retried as the policy says. No I/O.

:class:`Calls` holds what every request of one client shares (retry settings, extra headers,
the clock and jitter source the policy is handed) and is where the retry policy is asked
(:meth:`Calls._decide`); ``_flow``'s :class:`~tuskit_client._flow.UploadFlow` builds the
chunk loop and whole uploads on it.
"""

import copy
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Self, TypeVar

from yarl import URL

from tuskit_client import _steps
from tuskit_client._commands import Flow, Memory, send, sleep
from tuskit_client._draft_fields import LATEST
from tuskit_client._draft_steps import DraftWire
from tuskit_client._progress import Progress
from tuskit_client._retry import Action, Decision, decide
from tuskit_client._steps import Created, RequestHead, ResponseHead, UploadStatus
from tuskit_client._wire import TUS, Choice, Creation, Wire, choose_protocol
from tuskit_client.exceptions import ProtocolError, ResponseError, TusClientError
from tuskit_client.log import logger
from tuskit_common import ServerCapabilities

if TYPE_CHECKING:  # _types reaches aiohttp for the ssl argument's type; no I/O here
    from tuskit_client._types import RetryConfiguration

T = TypeVar("T")


class Calls:
    """One-request protocol steps with their retries, for every upload of one client.

    Args:
        config: the retry policy's settings.
        headers: extra headers for every request (the tus headers win on a clash).
        chunk_size: bytes per PATCH; None sends the rest of a seekable source in one.
        now / random: the clock and the jitter source the retry policy is handed.
        protocol: tus 1.0.0, the IETF draft at ``draft_version``, or the draft where the
            server announces it (``_choice``); :attr:`wire` spells the requests.
    """

    def __init__(
        self,
        config: "RetryConfiguration",
        *,
        headers: Mapping[str, str] | None,
        chunk_size: int | None,
        now: Callable[[], datetime],
        random: Callable[[], float],
        protocol: str = Choice.TUS,
        draft_version: int = LATEST,
    ) -> None:
        self.config = config
        self.headers = dict(headers or {})
        self.chunk_size = chunk_size
        self.now = now
        self.random = random
        self.choice = choose_protocol(protocol)
        self.draft = DraftWire(draft_version)
        self.wire: Wire = self.draft if self.choice is Choice.DRAFT else TUS

    def speaking(self, wire: Wire, *, chunk_size: int | None) -> Self:
        """These calls in ``wire`` with ``chunk_size``, for one upload (a shallow copy)."""
        other = copy.copy(self)
        other.wire, other.chunk_size = wire, chunk_size
        return other

    def _decide(self, error: TusClientError, attempt: int, *, resends: int) -> Decision:
        """The retry policy's verdict on one failure: the only place it is asked."""
        return decide(
            error,
            attempt=attempt,
            resends=resends,
            config=self.config,
            now=self.now(),
            random=self.random,
        )

    def _one_request_decision(self, error: TusClientError, attempt: int, what: str) -> Decision:
        """A failed one-request step: a 409 or 460 is final here (no chunk to re-sync or
        resend); anything else as the policy says, logged when it is tried again."""
        if isinstance(error, ResponseError) and error.status in (409, 460):
            return Decision(Action.FAIL)
        decision = self._decide(error, attempt, resends=0)
        if decision.action is not Action.FAIL:
            logger.warning(
                "%s failed (%s); attempt %d of %d, next in %.2f s",
                what,
                error.message,
                attempt,
                self.config.retry_attempts,
                decision.delay,
            )
        return decision

    # -- one request, retried -------------------------------------------------------------

    def request(
        self,
        head: RequestHead,
        answer: Callable[[ResponseHead], T],
        *,
        body: Memory | None = None,
    ) -> Flow[T]:
        """Send ``head`` until ``answer`` accepts the response or the policy gives up."""
        attempt = 0
        progress = None if body is None else body.progress
        while True:
            try:
                response = yield from send(head, body, expect100=body is not None)
                if progress is not None:
                    progress.check()  # a failing callback is the caller's error, not ours
                return answer(response)
            except TusClientError as error:
                if progress is not None:
                    progress.check()
                attempt += 1
                decision = self._one_request_decision(error, attempt, f"{head.method} {head.url}")
                if decision.action is Action.FAIL:
                    raise
                yield from sleep(decision.delay)

    def options(self, url: URL) -> Flow[ServerCapabilities]:
        """OPTIONS discovery: versions, extensions, max size, checksum algorithms."""
        return self.request(self.wire.options_request(url, self.headers), self.wire.read_options)

    def capabilities(self, endpoint: URL) -> Flow[ServerCapabilities | None]:
        """OPTIONS, or what the protocol assumes when the server does not answer it
        usefully (tus 1.0.0: None, and optional extensions stay unused)."""
        try:
            return (yield from self.options(endpoint))
        except ProtocolError as exc:
            logger.info("OPTIONS %s gave no capabilities (%s)", endpoint, exc.message)
            return self.wire.assumed

    def status(self, location: URL) -> Flow[UploadStatus]:
        """HEAD: the server's offset, length, expiry and metadata for an upload."""
        head = self.wire.offset_request(location, self.headers)
        return self.request(head, partial(self.wire.read_offset, location=location))

    def delete(self, location: URL) -> Flow[None]:
        """DELETE: terminate an upload."""
        head = self.wire.termination_request(location, self.headers)
        return self.request(head, self.wire.read_termination)

    def create(
        self,
        endpoint: URL,
        *,
        length: int | None,
        metadata_header: str | None = None,
        concat: str | None = None,
        body: bytes | None = None,
        checksum: str | None = None,
        progress: Progress | None = None,
    ) -> Flow[Created]:
        """POST: create an upload, with ``body`` as its first bytes when given (all of them:
        the draft's ``Upload-Complete: ?1``)."""
        sent = None if body is None else len(body)
        creation = Creation(
            length,
            metadata_header,
            concat,
            body_length=sent,
            checksum=None
            if body is None or checksum is None
            else _steps.checksum_header(checksum, body),
            complete=length is not None and (sent or 0) == length,
        )
        head = self.wire.creation_request(endpoint, creation, self.headers)
        data = None if body is None else Memory(body, 0, 0, progress)
        read = partial(self.wire.read_creation, creation=creation)
        created = yield from self.request(head, read, body=data)
        logger.info("created upload %s", created.location)
        return created
