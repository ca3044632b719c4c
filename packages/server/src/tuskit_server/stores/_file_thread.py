"""The one thread a process's file stores run their short file operations in.

Why not ``asyncio.to_thread``: each call there is a concurrent future, a context copy, a
chained asyncio future and a wake-up of the event loop of its own, and its worker threads
contend with the loop for the GIL after every system call; for a small upload those hops
cost more than the rest of the upload. One thread that hands results back in batches costs
as little as running the work on the loop, without stalling it on a slow disk; several such
threads contend for the GIL again (figures: benchmarks/README.md, "Trials, kept", e045791).

What runs here must take a bounded time: creating, opening, reading and settling an upload,
each writing at most one batch of a body. Work that grows with the data (a body's batches,
concatenation, start-up recovery and expiry scans) stays in ``asyncio.to_thread``, so it
never holds the short operations up. A disk that stalls holds them up all the same.
"""

import asyncio
import contextlib
import functools
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tuskit_server._thread_results import Outcome, deliver, run_catching

__all__ = ["BATCH_MAX", "FILE_THREAD", "FileThread"]

T = TypeVar("T")

#: The most jobs run before their results are handed back: under a steady stream of jobs
#: the queue may never run empty, and the first results must not wait for it.
BATCH_MAX = 32

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]
_Delivered = list[tuple["asyncio.Future[Any]", Outcome]]


class FileThread:
    """Runs jobs one after another, in the order given, in one daemon thread (started on
    first use); each result (or exception) goes back to the loop of the coroutine that
    awaits it, in batches of up to :data:`BATCH_MAX`. A job whose awaiting coroutine was
    cancelled still runs (as with ``asyncio.to_thread``). Thread-safe."""

    def __init__(self, name: str = "tuskit-files") -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in the file thread."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._thread is None:
            self._start()
        self._jobs.put((loop, future, functools.partial(function, *args)))
        return await future

    def after_fork(self) -> None:
        """In a forked child: the thread and its queue stayed behind in the parent."""
        self._jobs = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._thread = None

    def _start(self) -> None:
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_serve, args=(self._jobs,), name=self._name, daemon=True
                )
                self._thread.start()


def _serve(jobs: "queue.SimpleQueue[_Job]") -> None:
    while True:
        _run_batch(_next_batch(jobs))


def _next_batch(jobs: "queue.SimpleQueue[_Job]") -> list[_Job]:
    """The next job (waiting for one), and those queued behind it, up to :data:`BATCH_MAX`."""
    batch = [jobs.get()]
    while len(batch) < BATCH_MAX:
        try:
            batch.append(jobs.get_nowait())
        except queue.Empty:
            break
    return batch


def _run_batch(batch: list[_Job]) -> None:
    """Run each job, then hand the outcomes back: one wake-up per loop, not per job."""
    outcomes: dict[asyncio.AbstractEventLoop, _Delivered] = {}
    for loop, future, call in batch:
        outcomes.setdefault(loop, []).append((future, run_catching(call)))
    for loop, delivered in outcomes.items():
        with contextlib.suppress(RuntimeError):  # that loop closed meanwhile
            loop.call_soon_threadsafe(_deliver_all, delivered)


def _deliver_all(delivered: _Delivered) -> None:
    for future, outcome in delivered:
        deliver(future, outcome)


#: The file thread of this process, shared by every :class:`FileStore`.
FILE_THREAD = FileThread()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=FILE_THREAD.after_fork)
