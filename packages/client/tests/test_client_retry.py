"""The retry decision table, without an event loop."""

from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict

from tuskit_client import (
    ProtocolError,
    ResponseError,
    RetryConfiguration,
    SourceError,
    TransportError,
)
from tuskit_client._retry import (
    PROGRESS_RESET,
    Action,
    Attempts,
    Decision,
    backoff_delay,
    decide,
    parse_retry_after,
)

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
CONFIG = RetryConfiguration(retry_attempts=3, max_retry_period_seconds=8.0)


def status_error(status: int, **headers: str) -> ResponseError:
    fixed = CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()})
    return ResponseError("x", status=status, headers=fixed, method="PATCH", url="u")


def run(error: BaseException, attempt: int = 1, resends: int = 0, **config: object) -> Decision:
    cfg = RetryConfiguration(**{"retry_attempts": 3, "max_retry_period_seconds": 8.0, **config})  # type: ignore[arg-type]
    return decide(error, attempt=attempt, resends=resends, config=cfg, now=NOW, random=lambda: 1.0)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 423, 429, 408])
def test_transient_statuses_back_off(status: int) -> None:
    decision = run(status_error(status), attempt=2)
    assert decision.action is Action.RETRY
    assert decision.delay == 2.0


@pytest.mark.parametrize("status", [400, 403, 404, 410, 412, 413, 415, 501])
def test_permanent_statuses_fail_at_once(status: int) -> None:
    assert run(status_error(status)).action is Action.FAIL


def test_network_errors_retry_until_the_attempts_are_spent() -> None:
    # retry_attempts=3 is three attempts in all, as in aiotus: the third failure is final.
    error = TransportError("reset")
    assert run(error, attempt=2).action is Action.RETRY
    assert run(error, attempt=3).action is Action.FAIL


@pytest.mark.parametrize("attempts", [0, 1])
def test_zero_and_one_attempts_both_mean_a_single_try(attempts: int) -> None:
    assert run(TransportError("reset"), attempt=1, retry_attempts=attempts).action is Action.FAIL


def test_conflict_resyncs_from_its_offset_or_a_head() -> None:
    with_offset = run(status_error(409, Upload_Offset="12"))
    assert (with_offset.action, with_offset.offset, with_offset.delay) == (Action.RESYNC, 12, 0.0)
    bare = run(status_error(409))
    assert (bare.action, bare.offset) == (Action.RESYNC, None)


def test_checksum_mismatch_resends_a_bounded_number_of_times() -> None:
    assert run(status_error(460), resends=0).action is Action.RESEND
    assert run(status_error(460), resends=2).action is Action.RESEND
    assert run(status_error(460), resends=3).action is Action.FAIL


def test_retry_after_wins_over_a_shorter_backoff() -> None:
    decision = run(status_error(503, Retry_After="7"), attempt=1)
    assert decision.delay == 7.0
    date = run(status_error(503, Retry_After="Tue, 01 Jan 2030 12:00:30 GMT"))
    assert date.delay == 30.0
    capped = run(status_error(429, Retry_After="100000"), max_retry_after_seconds=60.0)
    assert capped.delay == 60.0


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    top = [backoff_delay(n, base=1.0, cap=8.0, random=lambda: 1.0) for n in range(1, 7)]
    assert top == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delay(3, base=1.0, cap=8.0, random=lambda: 0.25) == 1.0
    assert backoff_delay(0, base=1.0, cap=8.0, random=lambda: 1.0) == 0.0


def test_parse_retry_after() -> None:
    assert parse_retry_after(None, now=NOW) is None
    assert parse_retry_after("nonsense", now=NOW) is None
    assert parse_retry_after(" 3 ", now=NOW) == 3.0
    assert parse_retry_after("Tue, 01 Jan 2030 11:00:00 GMT", now=NOW) == 0.0


def test_local_errors_are_never_retried() -> None:
    assert run(SourceError("short")).action is Action.FAIL
    assert run(ProtocolError("bad")).action is Action.FAIL
    assert run(ValueError("x")).action is Action.FAIL


def test_should_retry_hook_overrides_the_default() -> None:
    seen: list[tuple[BaseException, int]] = []

    def hook(error: BaseException, attempt: int) -> bool | None:
        seen.append((error, attempt))
        if isinstance(error, ResponseError) and error.status == 403:
            return True
        if isinstance(error, TransportError):
            return False
        return None

    assert run(status_error(403), should_retry=hook).action is Action.RETRY
    assert run(TransportError("x"), should_retry=hook).action is Action.FAIL
    assert run(status_error(503), attempt=2, should_retry=hook).action is Action.RETRY
    assert [a for _, a in seen] == [1, 1, 2]


def test_configuration_rejects_negative_values() -> None:
    with pytest.raises(ValueError, match="retry_attempts"):
        RetryConfiguration(retry_attempts=-1)
    assert RetryConfiguration() == RetryConfiguration(10, 60.0, True)
    assert CONFIG.ssl is True


def test_attempts_restart_once_the_offset_moved_by_the_reset_amount() -> None:
    attempts = Attempts()
    assert [attempts.failed(0) for _ in range(3)] == [1, 2, 3]
    assert attempts.failed(PROGRESS_RESET) == 1  # enough progress since the streak began
    assert attempts.failed(PROGRESS_RESET + 100) == 2
    assert attempts.failed(50) == 3  # going back is not progress


def test_attempts_do_not_restart_on_a_few_bytes_of_progress() -> None:
    # A server that keeps half of every failed request (aiotus's suite has one) moves the
    # offset 0 -> 2 -> 3 of 4 bytes: that must not make the retries endless.
    attempts = Attempts()
    assert [attempts.failed(offset) for offset in (0, 2, 3, 3)] == [1, 2, 3, 4]
    assert attempts.failed(PROGRESS_RESET - 1) == 5
    assert attempts.failed(PROGRESS_RESET) == 1
