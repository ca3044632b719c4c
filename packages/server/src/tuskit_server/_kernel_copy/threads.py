"""The threads that move poured request bodies, kept for the next body once one ends.

Why not the loop's shared executor: a transfer lasts as long as its client sends (a slow
upload for hours), and the store's short file operations must never queue behind it, so
every transfer starts at once in a thread of its own.

Why not a new thread per transfer: a client sending 8 MiB chunks made one new thread per
chunk, and the scheduler, knowing nothing of a fresh thread, often woke it on the CPU the
client was running on: more context switches and CPU migrations per GiB (figures:
benchmarks/README.md, "Trials, kept", 13fc9a2).
"""

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

from tuskit_server._thread_results import deliver, run_catching

__all__ = ["IDLE_SECONDS", "TransferThreads"]

T = TypeVar("T")

#: How long a thread with nothing to move waits for the next transfer before it ends.
IDLE_SECONDS = 60.0


class TransferThreads:
    """Runs each job at once in a thread of its own: one left idle by an earlier job if
    there is one, else a new daemon thread. An idle thread ends after ``idle_seconds``, or
    at :meth:`close`. Thread-safe; jobs never wait for each other."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS, name: str = "tuskit-transfer"):
        self._idle_seconds = idle_seconds
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._idle = 0  # threads waiting for a job that no job was promised to yet

    @property
    def idle(self) -> int:
        """How many threads wait for a job."""
        with self._guard:
            return self._idle

    def run(self, function: Callable[[], T]) -> "asyncio.Future[T]":
        """Run ``function`` in a transfer thread; its result (or exception) as a future of
        the running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            outcome = run_catching(function)
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(deliver, future, outcome)

        self.submit(job)
        return future

    def submit(self, job: Callable[[], None]) -> None:
        """Start ``job`` in an idle thread or a new one. ``job`` should not raise: what it
        raises ends its thread (reported by :func:`threading.excepthook`)."""
        with self._guard:
            reuse = self._idle > 0
            if reuse:
                self._idle -= 1  # promised: that thread stays until it takes this job
        if reuse:
            self._jobs.put(job)
        else:
            threading.Thread(target=self._serve, args=(job,), name=self._name, daemon=True).start()

    def close(self) -> None:
        """End the idle threads now (an app's clean-up: its threads need not linger for
        their idle time). Jobs submitted later still run, in new threads."""
        with self._guard:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)  # each idle thread takes one and ends

    def _serve(self, first: Callable[[], None]) -> None:
        job: Callable[[], None] | None = first
        while job is not None:
            job()
            job = None  # an idle thread holds nothing of the transfer it ran
            job = self._next()

    def _next(self) -> Callable[[], None] | None:
        """The next job for this thread, once it is idle; None when it should end (its idle
        time passed, or :meth:`close`)."""
        with self._guard:
            self._idle += 1
        try:
            return self._jobs.get(timeout=self._idle_seconds)
        except queue.Empty:
            with self._guard:
                if self._idle:  # no job promised to a waiting thread: this one may go
                    self._idle -= 1
                    return None
            return self._jobs.get()  # every waiting thread has a job coming: take one
