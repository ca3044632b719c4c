"""The threads poured bodies move in: a job starts at once in a thread of its own, a thread
left idle takes the next job, an idle thread ends after its idle time, and no job is lost
when a thread ends just as a job is handed to it."""

import asyncio
import queue
import threading
import time
from collections.abc import Callable

import pytest

from tuskit_server._kernel_copy.splice import TransferSlots
from tuskit_server._kernel_copy.threads import TransferThreads


def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.001)


async def test_run_returns_the_result_from_another_thread() -> None:
    threads = TransferThreads()
    result = await threads.run(threading.get_ident)
    assert result != threading.get_ident()


async def test_run_raises_what_the_function_raised() -> None:
    def fail() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await TransferThreads().run(fail)


async def test_an_idle_thread_takes_the_next_job() -> None:
    threads = TransferThreads()
    first = await threads.run(threading.get_ident)
    _until(lambda: threads.idle == 1)
    second = await threads.run(threading.get_ident)
    assert second == first
    _until(lambda: threads.idle == 1)  # the same thread is idle again, not a second one


async def test_jobs_run_at_once_side_by_side() -> None:
    threads = TransferThreads()
    release = threading.Event()
    blocked = threads.run(lambda: release.wait(5))
    # The first job holds its thread: the second must start in another one, not wait.
    second = await asyncio.wait_for(threads.run(threading.get_ident), 2)
    release.set()
    assert await blocked is True
    assert second != threading.get_ident()


def test_an_idle_thread_ends_after_its_idle_time() -> None:
    threads = TransferThreads(idle_seconds=0.05)
    ran: list[threading.Thread] = []
    threads.submit(lambda: ran.append(threading.current_thread()))
    _until(lambda: len(ran) == 1)
    ran[0].join(5)
    assert not ran[0].is_alive()
    assert threads.idle == 0


async def test_close_ends_the_idle_threads_and_later_jobs_still_run() -> None:
    threads = TransferThreads()
    ran: list[threading.Thread] = []
    threads.submit(lambda: ran.append(threading.current_thread()))
    _until(lambda: threads.idle == 1)
    threads.close()
    ran[0].join(5)
    assert not ran[0].is_alive()
    assert threads.idle == 0
    assert await threads.run(lambda: 42) == 42


class _TimesOutLate(queue.SimpleQueue[Callable[[], None] | None]):
    """A job queue whose first wait with a timeout times out only when the test says so."""

    def __init__(self) -> None:
        self.waiting = threading.Event()
        self.time_out = threading.Event()
        self._timed_out = False

    def get(self, block: bool = True, timeout: float | None = None) -> Callable[[], None] | None:
        if timeout is not None and not self._timed_out:
            self._timed_out = True
            self.waiting.set()
            self.time_out.wait(5)
            raise queue.Empty
        return super().get(block, timeout)


def test_a_job_handed_to_a_thread_timing_out_still_runs() -> None:
    threads = TransferThreads()
    jobs = _TimesOutLate()
    threads._jobs = jobs
    ran: list[str] = []
    threads.submit(lambda: ran.append("first"))
    assert jobs.waiting.wait(5)  # the thread is idle, inside its wait
    threads.submit(lambda: ran.append("second"))  # promised to that idle thread
    jobs.time_out.set()  # its wait ends empty-handed after the promise
    _until(lambda: len(ran) == 2)
    assert ran == ["first", "second"]


async def test_slots_share_one_set_of_threads() -> None:
    slots = TransferSlots(2)
    first = await slots.threads.run(threading.get_ident)
    _until(lambda: slots.threads.idle == 1)
    assert await slots.threads.run(threading.get_ident) == first
