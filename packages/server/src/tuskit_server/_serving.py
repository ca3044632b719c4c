"""Serving an application until SIGINT or SIGTERM, in one process or in several.

One process is GIL-bound long before the cores are busy: a small upload's file work runs in
worker threads that must win the GIL back from the event loop for every system call. So
:func:`supervise` forks ``count`` worker processes, each with a listening socket of its own
on the same port (``SO_REUSEPORT``: the kernel spreads new connections over them), and
stays behind to pass signals on and to notice a worker that dies. The workers share one
:class:`~tuskit_server.locks.FileLocker`, or the locker given (a RedisLocker, shared with
other machines too); :func:`worker_settings` sets it up.
"""

import asyncio
import contextlib
import logging
import os
import select
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiohttp import web

from tuskit_common import Extension
from tuskit_server._connections import (
    Connections,
    GatedRunner,
    QuietBadRequests,
    quiet_accept_errors,
)
from tuskit_server.locks import FileLocker, MemoryLocker
from tuskit_server.stores.base import SharedFinals

__all__ = [
    "LOCK_FILE",
    "bind_shared",
    "run_app_until_signal",
    "supervise",
    "worker_settings",
]

_BACKLOG = 1024
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

Ready = Callable[[str, int], None]


def bind_shared(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (0: a free port) with ``SO_REUSEPORT``, not yet
    listening: the supervisor's holds the port for the workers, each worker listens on its
    own."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


async def run_app_until_signal(
    app: web.Application,
    site: Callable[[web.AppRunner], web.BaseSite],
    *,
    shutdown_timeout: float,
    ready: Ready,
    lifeline: int | None = None,
    on_stopping: Callable[[], None] | None = None,
    runner_options: Mapping[str, Any] | None = None,
    limits: Connections | None = None,
) -> None:
    """Serve ``app`` on ``site(runner)`` (a TCP site, or a worker's socket) until SIGINT or
    SIGTERM (or, in a worker, until ``lifeline`` reads end-of-file: its supervisor is gone),
    then shut down gracefully: in-flight PATCHes persist what arrived and answer 503.
    ``ready(host, port)`` is called with the first address served, ``on_stopping()`` when
    the shutdown begins (a Unix socket's address is its path, with port 0).
    ``runner_options`` go to :class:`web.AppRunner` (e.g. the access log)."""
    # the access logger writes only where logging enables it
    runner = GatedRunner(
        app, limits or Connections(), shutdown_timeout=shutdown_timeout, **(runner_options or {})
    )
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    undo_quiet = quiet_accept_errors(loop, runner.log)
    bad_requests = QuietBadRequests((limits or Connections()).log_interval)
    aiohttp_server_log = logging.getLogger("aiohttp.server")
    aiohttp_server_log.addFilter(bad_requests)
    try:
        await site(runner).start()
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            for sig in _STOP_SIGNALS:
                loop.add_signal_handler(sig, stop.set)
        if lifeline is not None:
            loop.add_reader(lifeline, stop.set)
        address = runner.addresses[0]
        if isinstance(address, str):
            ready(address, 0)
        else:
            ready(address[0], address[1])
        await stop.wait()
        if on_stopping is not None:
            on_stopping()
    finally:
        undo_quiet()
        aiohttp_server_log.removeFilter(bad_requests)
        if lifeline is not None:
            loop.remove_reader(lifeline)
        with contextlib.suppress(NotImplementedError):
            for sig in _STOP_SIGNALS:
                loop.remove_signal_handler(sig)
        await runner.cleanup()


@contextlib.contextmanager
def worker_settings(setup_tus_kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``setup_tus`` options for workers: the locker given (one that several processes share,
    such as a RedisLocker), else a :class:`FileLocker` on a lock file that lives as long as
    the block (under the storage folder, see :func:`_lock_file`); and no
    ``concatenation-unfinished`` (which final upload waits for which partial is known to
    the one process that created the final) unless the store shares that knowledge
    (:class:`~tuskit_server.stores.base.SharedFinals`, e.g. an S3Store)."""
    wanted = setup_tus_kwargs.get("extensions")
    settings = dict(setup_tus_kwargs)
    if not isinstance(setup_tus_kwargs.get("store"), SharedFinals):
        if wanted is not None and Extension.CONCATENATION_UNFINISHED in set(wanted):
            raise ValueError("concatenation-unfinished needs a single server process (workers=1)")
        if wanted is None:
            wanted = [e for e in Extension if e is not Extension.CONCATENATION_UNFINISHED]
    if wanted is not None:
        settings["extensions"] = tuple(wanted)
    given = setup_tus_kwargs.get("locker")
    if isinstance(given, MemoryLocker):
        raise ValueError("several workers need a locker they share (a MemoryLocker is not)")
    if given is not None:
        yield settings
        return
    lock_path = _lock_file(setup_tus_kwargs.get("upload_path"))
    try:
        settings["locker"] = FileLocker(lock_path)
        yield settings
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)


#: The lock file of ``--workers`` in a storage folder (the file store ignores it).
LOCK_FILE = ".tuskit.locks"


def _lock_file(upload_path: object) -> str:
    """The workers' lock file: ``<upload_path>/.tuskit.locks``, so a supervisor killed
    with SIGKILL leaves nothing in /tmp and the next start reuses it (it holds no data,
    only the locks of live processes); a temporary file when the folder is not a plain
    directory (named ``{placeholders}``, or a store without one)."""
    if isinstance(upload_path, (str, os.PathLike)) and "{" not in str(upload_path):
        path = os.path.join(str(upload_path), LOCK_FILE)
        try:
            os.makedirs(str(upload_path), exist_ok=True)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError:
            pass  # the workers report the unusable folder themselves
        else:
            return path
    fd, path = tempfile.mkstemp(prefix="tuskit-locks-")
    os.close(fd)
    return path


def supervise(
    count: int,
    host: str,
    port: int,
    run_worker: Callable[[socket.socket, Callable[[], None], int], None],
    ready: Ready,
    on_stopping: Callable[[], None] | None = None,
) -> int:
    """Fork ``count`` workers serving ``host``:``port`` and wait for them; returns the exit
    status (0 after a clean stop, 1 when a worker failed or died).

    ``run_worker(sock, ready, lifeline)`` runs in each worker on its own listening socket
    and returns when the worker stops; it calls ``ready()`` once it serves. ``ready(host,
    port)`` is called here once every worker serves. SIGINT or SIGTERM to this process stop
    the workers (each finishes its requests; ``on_stopping()`` is called once then); a
    worker that exits on its own stops the rest.
    """
    if not (hasattr(os, "fork") and hasattr(socket, "SO_REUSEPORT")):
        raise RuntimeError("several workers need fork and SO_REUSEPORT (Linux, macOS, BSD)")
    reserve = bind_shared(host, port)
    bound_host, bound_port = reserve.getsockname()[:2]
    ready_read, ready_write = os.pipe()
    life_read, life_write = os.pipe()
    workers: set[int] = set()
    try:
        for _ in range(count):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child (covered by subprocess tests)
                os.close(ready_read)
                os.close(life_write)
                reserve.close()
                os._exit(_worker_main(host, bound_port, run_worker, ready_write, life_read))
            workers.add(pid)
        os.close(ready_write)
        os.close(life_read)
        return _watch(workers, ready_read, lambda: ready(bound_host, bound_port), on_stopping)
    finally:
        os.close(life_write)  # every worker still running sees end-of-file and stops
        os.close(ready_read)
        reserve.close()
        _reap(workers)


def _worker_main(
    host: str,
    port: int,
    run_worker: Callable[[socket.socket, Callable[[], None], int], None],
    ready_write: int,
    lifeline: int,
) -> int:  # pragma: no cover - runs in the child
    """A worker's life: its own process group (a terminal's Ctrl-C reaches the supervisor
    only, which passes it on once), its own listening socket, then the app."""
    try:
        os.setpgid(0, 0)
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        sock = bind_shared(host, port)
        sock.listen(_BACKLOG)

        def ready() -> None:
            os.write(ready_write, b".")

        run_worker(sock, ready, lifeline)
    except BaseException as exc:  # never unwind into the supervisor's code: report, exit 1
        print(f"tuskit worker {os.getpid()} failed: {exc!r}", file=sys.stderr, flush=True)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _watch(
    workers: set[int],
    ready_read: int,
    on_ready: Callable[[], None],
    on_stopping: Callable[[], None] | None,
) -> int:
    """Wait for the workers to serve, then until a stop signal or a worker's exit.

    The signal handler only passes the signal on and notes it; everything else, the
    callbacks included, runs in this loop, which looks every 0.1 s (a callback run inside
    the handler could interrupt output the supervisor was writing)."""
    stopping = False
    told = False
    status = 0

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        _signal_all(workers, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    expected = len(workers)
    started = 0
    try:
        while workers:
            starting = started < expected and not stopping
            readable, _, _ = select.select([ready_read] if starting else [], [], [], 0.1)
            if readable:
                started += len(os.read(ready_read, expected))
                if started >= expected:
                    on_ready()
            if stopping and not told:
                told = True
                if on_stopping is not None and status == 0:
                    on_stopping()
            pid, code = os.waitpid(-1, os.WNOHANG)
            if pid not in workers:
                continue
            workers.discard(pid)
            if not stopping:
                print(f"tuskit worker {pid} exited; stopping", file=sys.stderr, flush=True)
                status = 1
                told = True  # not a requested shutdown
                stop(signal.SIGTERM, None)
            elif os.waitstatus_to_exitcode(code) != 0 and started >= expected:
                status = 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _signal_all(workers: set[int], sig: int) -> None:
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap(workers: set[int]) -> None:
    """Make sure no worker outlives the supervisor (only reached on an error here)."""
    if not workers:
        return
    _signal_all(workers, signal.SIGKILL)
    for pid in list(workers):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        workers.discard(pid)
