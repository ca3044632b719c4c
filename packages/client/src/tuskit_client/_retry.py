"""The retry policy as a pure decision (``tus-protocol.md`` §5). No I/O, no clock.

:func:`decide` maps one failure to what the upload loop does next; the loop owns sleeping and
the HEAD that follows. The clock (``now``) and the randomness (``random``) are arguments, so
the whole table is testable without an event loop:

=====================================  =========================================
failure                                decision
=====================================  =========================================
network error, timeout, 5xx but 501    RETRY after backoff (then HEAD)
429 / 503 with ``Retry-After``         RETRY after max(Retry-After, backoff)
409                                    RESYNC from its ``Upload-Offset`` or a HEAD
423                                    RETRY after backoff (then HEAD)
460                                    RESEND the chunk, ``checksum_resends`` times
any other 4xx, protocol/source error   FAIL
the ``retry_attempts``-th failure      FAIL (N attempts in all, as in aiotus)
=====================================  =========================================
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from tuskit_client.exceptions import ResponseError, TransportError
from tuskit_common import headers
from tuskit_common.errors import InvalidHeader
from tuskit_common.values import parse_http_date, parse_offset

if TYPE_CHECKING:
    from tuskit_client._types import RetryConfiguration

#: Progress that starts the attempt count again: a server that keeps a few bytes of every
#: failed request must not keep an upload retrying without end.
PROGRESS_RESET: Final = 1024 * 1024

#: Statuses worth another try: overload and gateway trouble, plus lock contention.
_TRANSIENT = frozenset({408, 423, 429})
_PERMANENT_5XX = frozenset({501, 505})


class Action(StrEnum):
    """What the loop does after a failure."""

    RETRY = "retry"  # sleep, re-read the offset with HEAD, go on
    RESYNC = "resync"  # no sleep: take the offset from the answer (409) or a HEAD
    RESEND = "resend"  # no sleep: send the same chunk again (460)
    FAIL = "fail"  # raise the error


@dataclass(slots=True)
class Attempts:
    """Consecutive failures of one upload; the count restarts when the server's offset has
    moved by :data:`PROGRESS_RESET` or more since the failure that started it (as
    tus-js-client's ``_offsetBeforeRetry``, with a floor), so a long upload over a flaky link
    is not failed by errors spread over hours."""

    count: int = 0
    failed_at: int | None = None

    def failed(self, offset: int) -> int:
        """Record a failure at ``offset``; returns the attempt number to decide with."""
        if self.failed_at is None or offset >= self.failed_at + PROGRESS_RESET:
            self.count = 0
            self.failed_at = offset
        self.count += 1
        return self.count


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :func:`decide`: an action, a delay in seconds, maybe a known offset."""

    action: Action
    delay: float = 0.0
    offset: int | None = None


def backoff_delay(attempt: int, *, base: float, cap: float, random: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**(attempt-1)))``."""
    if attempt < 1:
        return 0.0
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return ceiling * random()


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        moment = parse_http_date(text)
    except InvalidHeader:
        return None
    return max(0.0, (moment - now.astimezone(UTC)).total_seconds())


def conflict_offset(response_headers: Mapping[str, str]) -> int | None:
    """The current offset a 409 carries (tus 1.1 / IETF), or None when it has none."""
    try:
        return parse_offset(response_headers.get(headers.UPLOAD_OFFSET))
    except InvalidHeader:
        return None


def is_retryable(error: BaseException) -> bool:
    """The default answer to "is another try worthwhile?" for one failure."""
    if isinstance(error, TransportError):
        return True
    if isinstance(error, ResponseError):
        status = error.status
        if status in _TRANSIENT or status == 409:
            return True
        return 500 <= status < 600 and status not in _PERMANENT_5XX
    return False


def decide(
    error: BaseException,
    *,
    attempt: int,
    resends: int,
    config: "RetryConfiguration",
    now: datetime,
    random: Callable[[], float],
) -> Decision:
    """Decide what to do about ``error``.

    Args:
        error: the failure of one request.
        attempt: consecutive failures so far, this one included (1-based), already reset
            by the caller after progress (:class:`Attempts`); the ``retry_attempts``-th fails.
        resends: how often the current chunk was re-sent after a 460 already.
        config: the retry configuration.
        now: the current time, for an HTTP-date ``Retry-After``.
        random: a uniform [0, 1) source for the jitter.
    """
    if isinstance(error, ResponseError) and error.status == 460:
        if resends < config.checksum_resends:
            return Decision(Action.RESEND)
        return Decision(Action.FAIL)
    verdict = config.should_retry(error, attempt) if config.should_retry is not None else None
    retryable = is_retryable(error) if verdict is None else verdict
    if not retryable or attempt >= config.retry_attempts:
        return Decision(Action.FAIL)
    if isinstance(error, ResponseError) and error.status == 409:
        return Decision(Action.RESYNC, offset=conflict_offset(error.headers))
    delay = backoff_delay(
        attempt,
        base=config.base_delay_seconds,
        cap=config.max_retry_period_seconds,
        random=random,
    )
    if isinstance(error, ResponseError):
        wait = parse_retry_after(error.headers.get(headers.RETRY_AFTER), now=now)
        if wait is not None:
            delay = max(delay, min(wait, config.max_retry_after_seconds))
    return Decision(Action.RETRY, delay=delay)
