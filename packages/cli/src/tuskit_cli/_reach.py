"""How long the client commands keep trying a server they cannot reach: a short budget.

``--retries`` counts retries of any failure, with backoff that grows to a minute; against a
server that is down that meant a minute and a half of waiting. A refused (or timed-out)
connection is therefore retried only for :data:`BUDGET` seconds from the first one, the
backoff sleeps cut to fit, with one updating line on a terminal while it waits.
"""

import asyncio
import errno
import os
import time
from collections.abc import Callable
from typing import Final

import aiohttp

from tuskit_client import TransportError

#: Seconds a server that refuses connections is retried for (stated in --help and README).
BUDGET: Final = 10.0

Show = Callable[[str | None], None]


def unreachable(error: BaseException) -> str | None:
    """``host:port: reason`` when ``error`` says the server could not be reached at all
    (refused, unresolvable, connect timeout), else None; TLS failures are not in it."""
    cause = error.__cause__ if isinstance(error, TransportError) else error
    if isinstance(cause, aiohttp.ClientSSLError):
        return None
    if isinstance(cause, aiohttp.ClientConnectorError):
        error = cause.os_error
        # asyncio words a refusal "Connect call failed (...)": the errno's name says more;
        # a DNS failure's errno is negative, and its strerror is the readable one.
        if error.errno and error.errno in errno.errorcode:
            reason = os.strerror(error.errno)
        else:
            reason = error.strerror or str(error) or "cannot connect"
        return f"{cause.host}:{cause.port}: {reason[:1].lower()}{reason[1:]}"
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return "the connection timed out"
    return None


class Reachability:
    """The retry hook and the sleep of one command's client: unreachable-server failures
    are retried within :data:`BUDGET` seconds of the first, others as ``--retries`` says."""

    def __init__(
        self,
        show: Show | None = None,
        *,
        budget: float = BUDGET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.show: Show = show or (lambda _: None)
        self.budget = budget
        self.clock = clock
        self.since: float | None = None
        self.gave_up = False

    def left(self) -> float:
        """Seconds of the budget still left (the whole budget while the server answers)."""
        if self.since is None:
            return self.budget
        return max(0.0, self.since + self.budget - self.clock())

    def should_retry(self, error: BaseException, attempt: int) -> bool | None:
        """False once the budget is spent on an unreachable server; None (the client's
        default policy, with its attempt count) otherwise."""
        where = unreachable(error)
        if where is None:
            self.reached()
            return None
        if self.since is None:
            self.since = self.clock()
        left = self.left()
        if left <= 0:
            self.gave_up = True
            self.show(None)
            return False
        self.show(f"cannot connect to {where}; retrying, {left:.0f} s left")
        return None

    async def sleep(self, delay: float) -> None:
        """The backoff sleep, cut to what is left of the budget while the server is away."""
        await asyncio.sleep(min(delay, self.left()) if self.since is not None else delay)

    def reached(self) -> None:
        """The server answered (or bytes went out): a later outage gets a budget anew."""
        if self.since is not None:
            self.since = None
            self.show(None)

    def note(self, error: BaseException) -> str:
        """What to add to the final error line: how long it was retried, if it was. The
        updating line goes first, so the error line is the last one."""
        self.show(None)
        if self.gave_up and unreachable(error) is not None:
            return f" (retried for {self.budget:.0f} s)"
        return ""
