"""A job's outcome in a worker thread, and handing it to the future its caller awaits.

Shared by the transfer threads and the file thread: both run jobs off the event loop and
give each result, or exception, back through the loop.
"""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Outcome", "deliver", "run_catching"]

T = TypeVar("T")

#: A job's result and ``None``, or ``None`` and what it raised.
Outcome = tuple[Any, BaseException | None]


def run_catching(call: Callable[[], Any]) -> Outcome:
    """Run ``call`` (in a worker thread); whatever it raises is kept for its caller."""
    try:
        return call(), None
    except BaseException as exc:  # handed to the loop, which raises it in the caller
        return None, exc


def deliver(future: "asyncio.Future[Any]", outcome: Outcome) -> None:
    """Give ``future`` its outcome (on its loop), unless its caller was cancelled."""
    if future.done():
        return
    result, error = outcome
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
