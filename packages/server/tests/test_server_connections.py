"""Connection limits of a served app: the quiet logs and the default cap (issue 21)."""

import logging
import resource

import pytest
from aiohttp.http_exceptions import BadHttpMessage, ContentEncodingError

from tuskit_server._connections import QuietBadRequests, default_max_connections


def _record(exc: BaseException | None) -> logging.LogRecord:
    info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", (), info
    )


def _wrapped() -> BaseException:
    try:
        try:
            raise ContentEncodingError("Can not decode content-encoding: gzip")
        except ContentEncodingError as cause:
            raise RuntimeError("payload error") from cause
    except RuntimeError as exc:
        return exc


def test_client_caused_errors_are_summed_up_once_per_interval() -> None:
    quiet = QuietBadRequests(interval=60)
    first = _record(BadHttpMessage("Invalid character in chunk size"))
    assert quiet.filter(first)
    assert first.exc_info is None
    assert first.levelno == logging.WARNING
    assert "Invalid character in chunk size" in first.getMessage()
    assert not quiet.filter(_record(_wrapped()))  # within the interval: counted, not logged
    assert not quiet.filter(_record(ConnectionResetError("Cannot write to closing transport")))
    own = _record(ValueError("a real bug"))
    assert quiet.filter(own)  # anything else passes untouched, traceback and all
    assert own.exc_info is not None
    assert own.levelno == logging.ERROR


def test_the_summary_counts_what_was_held_back() -> None:
    quiet = QuietBadRequests(interval=0)
    assert quiet.filter(_record(BadHttpMessage("one")))
    later = _record(_wrapped())
    assert quiet.filter(later)
    assert later.getMessage().startswith("1 request(s)")
    assert "gzip" in later.getMessage()


def test_the_default_cap_keeps_descriptors_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _: (128, 4096))
    assert default_max_connections() == 64
    monkeypatch.setattr(resource, "getrlimit", lambda _: (20, 4096))
    assert default_max_connections() == 16
    infinite = resource.RLIM_INFINITY
    monkeypatch.setattr(resource, "getrlimit", lambda _: (infinite, infinite))
    assert default_max_connections() == 10_000
