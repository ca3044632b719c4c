"""Shared type aliases and the retry configuration. No I/O.

``RetryConfiguration`` keeps aiotus's three fields and defaults (``retry_attempts=10``,
``max_retry_period_seconds=60``, ``ssl=True``) so that aiotus callers port unchanged; the
extra fields are keyword-only knobs for the retry policy of ``tus-protocol.md`` §5.
"""

import ssl as _ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeAlias

from aiohttp import Fingerprint

from tuskit_common import Metadata

#: What aiohttp accepts as ``ssl=``: verify (True), don't (False), a context or a pin.
SSLArgument: TypeAlias = bool | _ssl.SSLContext | Fingerprint

#: aiotus's default chunk size.
DEFAULT_CHUNK_SIZE: Final = 4 * 1024 * 1024

#: Decides whether a failure is retried: True/False overrides the default policy, None keeps
#: it. Called with the error and the 1-based number of consecutive failures.
ShouldRetry: TypeAlias = Callable[[BaseException, int], bool | None]


class ProgressCallback(Protocol):
    """Called as bytes go out and as the server acknowledges them.

    Args:
        sent: bytes handed to the connection so far (can run ahead of ``acknowledged``).
        acknowledged: bytes the server confirmed with ``Upload-Offset``.
        total: the upload's size, or None while it is unknown (deferred length).
    """

    def __call__(self, sent: int, acknowledged: int, total: int | None, /) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryConfiguration:
    """How requests are retried, and the ``ssl`` argument every request gets.

    Attributes:
        retry_attempts: attempts per request, the first included, as in aiotus (0 and 1
            both mean one); during an upload the count starts again once the server's
            offset has moved by 1 MiB or more since the failure that started it.
        max_retry_period_seconds: cap on one backoff delay (exponential, full jitter).
        ssl: passed to aiohttp on every request (bool, ``ssl.SSLContext`` or
            ``aiohttp.Fingerprint``).
        base_delay_seconds: the first backoff step; delay n is drawn from
            ``uniform(0, min(cap, base * 2**(n-1)))``.
        max_retry_after_seconds: a server's ``Retry-After`` is honoured up to this long.
        checksum_resends: how often one chunk is re-sent after 460 Checksum Mismatch.
        should_retry: optional hook overriding the default retry decision.
    """

    retry_attempts: int = 10
    max_retry_period_seconds: float = 60.0
    ssl: SSLArgument = True
    base_delay_seconds: float = field(default=1.0, kw_only=True)
    max_retry_after_seconds: float = field(default=300.0, kw_only=True)
    checksum_resends: int = field(default=3, kw_only=True)
    should_retry: ShouldRetry | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.retry_attempts < 0:
            raise ValueError("retry_attempts must be >= 0")
        if self.max_retry_period_seconds < 0 or self.base_delay_seconds < 0:
            raise ValueError("retry delays must be >= 0")


def client_config(config: RetryConfiguration | None, chunk_size: int | None) -> RetryConfiguration:
    """The configuration a client runs with (the default one for None); refuses a chunk
    size below one before anything is sent."""
    if chunk_size is not None and chunk_size < 1:
        raise ValueError("chunk_size must be positive or None")
    return config if config is not None else RetryConfiguration()


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Metadata",
    "ProgressCallback",
    "RetryConfiguration",
    "SSLArgument",
    "ShouldRetry",
]
