"""The file thread: jobs run in one thread, in order, off the event loop; results and
errors reach the awaiting coroutine; results go back in batches of bounded size; a
cancelled coroutine or a closed loop never breaks the thread; the file store's short
operations run there."""

import asyncio
import queue
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tuskit_common import Resource
from tuskit_server import FileStore
from tuskit_server.stores import _file_thread
from tuskit_server.stores._file_thread import BATCH_MAX, FILE_THREAD, FileThread


async def test_jobs_run_off_the_loop_all_in_one_thread() -> None:
    files = FileThread()
    idents = await asyncio.gather(*(files.run(threading.get_ident) for _ in range(50)))
    assert len(set(idents)) == 1
    assert idents[0] != threading.get_ident()


async def test_jobs_run_in_the_order_given() -> None:
    files = FileThread()
    order: list[int] = []
    await asyncio.gather(*(files.run(order.append, n) for n in range(200)))
    assert order == list(range(200))


async def test_a_job_error_is_raised_in_its_caller_only() -> None:
    files = FileThread()

    def fail() -> None:
        raise FileNotFoundError("no such upload")

    results = await asyncio.gather(
        files.run(fail), files.run(lambda: "fine"), return_exceptions=True
    )
    assert isinstance(results[0], FileNotFoundError)
    assert results[1] == "fine"


async def test_a_cancelled_caller_leaves_the_job_to_run_and_the_thread_well() -> None:
    files = FileThread()
    loop = asyncio.get_running_loop()
    problems: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: problems.append(context))
    release = threading.Event()
    ran = threading.Event()

    def slow() -> str:
        release.wait(5)
        ran.set()
        return "done"

    task = asyncio.ensure_future(files.run(slow))
    await asyncio.sleep(0.01)  # the job is running
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await files.run(lambda: 7) == 7  # the slow job's outcome was handed back first
    assert ran.is_set()
    assert problems == []


def test_results_go_back_at_least_every_batch_max_jobs() -> None:
    jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for n in range(BATCH_MAX + 8):
        jobs.put(n)
    first: list[Any] = _file_thread._next_batch(jobs)
    assert first == list(range(BATCH_MAX))
    second: list[Any] = _file_thread._next_batch(jobs)
    assert second == list(range(BATCH_MAX, BATCH_MAX + 8))


class _LoopLog:
    """Stands in for event loops: records each hand-back, or refuses like a closed loop."""

    def __init__(self, closed: bool = False) -> None:
        self.closed = closed
        self.handed: list[int] = []

    def call_soon_threadsafe(self, _callback: Any, settled: list[Any]) -> None:
        if self.closed:
            raise RuntimeError("Event loop is closed")
        self.handed.append(len(settled))


def test_a_batch_goes_back_once_per_loop_and_a_closed_loop_is_skipped() -> None:
    first, second, closed = _LoopLog(), _LoopLog(), _LoopLog(closed=True)
    ran: list[int] = []
    batch = [
        (loop, None, lambda n=n: ran.append(n))
        for n, loop in enumerate([first, second, first, closed, first])
    ]
    _file_thread._run_batch(batch)  # type: ignore[arg-type]
    assert ran == [0, 1, 2, 3, 4]
    assert first.handed == [3]
    assert second.handed == [1]


async def test_after_a_fork_a_new_thread_serves() -> None:
    files = FileThread()
    before = await files.run(threading.get_ident)
    files.after_fork()  # as in a forked child, where that thread does not exist
    after = await asyncio.wait_for(files.run(threading.get_ident), 5)
    assert after != before


async def test_the_file_store_runs_its_short_operations_in_the_file_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_thread = await FILE_THREAD.run(threading.get_ident)
    seen: dict[str, int] = {}
    for name in ("_create", "_load", "_finish_write", "_declare", "_remove"):
        real = getattr(FileStore, name)

        def spy(self: FileStore, *args: Any, _real: Any = real, _name: str = name) -> Any:
            seen[_name] = threading.get_ident()
            return _real(self, *args)

        monkeypatch.setattr(FileStore, name, spy)
    store = FileStore(tmp_path / "up")
    await store.open()
    created = await store.create(Resource(id="a" * 32, created_at=datetime.now(UTC)))
    await store.get(created.id)

    async def body() -> Any:
        yield b"abc"

    await store.write(created.id, 0, body(), expires_at=None)
    await store.declare_length(created.id, 3)
    await store.terminate(created.id)
    assert seen == dict.fromkeys(
        ("_create", "_load", "_finish_write", "_declare", "_remove"), file_thread
    )
