"""The servers under test, as subprocesses: tuskit-server (one process, or ``--workers N``
behind one port), the four peer servers (@tus/server, aiohttp-tus, tuspyserver and tusd, the
Go reference server: one process using every core), and the raw aiohttp PUT handler. Also
the process measurements (peak RSS and CPU time, over a server's whole process tree) and
store clean-up.

Peer servers are started with the interop suite's own commands
(:func:`integration_tests.peers.drivers.server_command`), which need the peers installed by
the ``interop`` (or ``bench``) nox session; the session builds tusd with ``go install`` and
passes its path in ``TUSKIT_INTEROP_TUSD``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from integration_tests.harness import (
    HttpProbe,
    ReadyCheck,
    RunningServer,
    UrlLine,
    free_port,
    running_server,
)
from integration_tests.peers.drivers import PeerServer, server_command
from integration_tests.processes import process_tree, stat_fields

ROOT = Path(__file__).resolve().parent.parent
TUSKIT = "tuskit"
SERVERS = (
    TUSKIT,
    str(PeerServer.TUS_NODE_SERVER),
    str(PeerServer.AIOHTTP_TUS),
    str(PeerServer.TUSPYSERVER),
    str(PeerServer.TUSD),
)
_WORKERS = f"{TUSKIT} --workers "
#: aiohttp-tus reads a PATCH body whole, capped by aiohttp's client_max_size: it is raised to
#: take an 8 MiB chunk (plus slack), which is the most a chunked client sends.
AIOHTTP_TUS_MAX_SIZE = 9 * 1024 * 1024
#: tusd and tus serve log every request by default; the benchmark runs every server without
#: a per-request log (the access logs switched off).
TUSD_QUIET = "-verbose=false"
#: tus serve writes an access-log line per request by default (an operator wants one).
TUSKIT_QUIET = "--no-access-log"


@dataclass(frozen=True, slots=True)
class Started:
    """A running server under test: its creation URL, store directory and process id."""

    name: str
    url: str
    directory: Path
    running: RunningServer

    @property
    def pid(self) -> int:
        process = self.running.server.process
        if process is None:
            raise RuntimeError(f"{self.name} has no process")
        return process.pid


def tuskit_workers(n: int) -> str:
    """The name of tuskit-server run as ``n`` worker processes behind one port
    (``--workers n``: a supervisor, the started process, forks them)."""
    return f"{_WORKERS}{n}"


def _workers_of(name: str) -> int | None:
    """``n`` for a :func:`tuskit_workers` name, ``None`` for any other name."""
    if not name.startswith(_WORKERS):
        return None
    count = name.removeprefix(_WORKERS)
    if not count.isdigit():
        raise ValueError(f"not a tuskit workers name: {name!r}")
    return int(count)


def is_tuskit(name: str) -> bool:
    """Whether ``name`` is tuskit-server, as one process or as :func:`tuskit_workers`."""
    return name == TUSKIT or _workers_of(name) is not None


def _command(name: str, directory: Path) -> tuple[list[str], ReadyCheck]:
    workers = _workers_of(name)
    if is_tuskit(name):
        port = free_port()
        argv = [sys.executable, "-m", "tuskit_server", "--storage", str(directory)]
        argv += ["--base-path", "/uploads", "--port", str(port), TUSKIT_QUIET]
        if workers is not None:
            argv += ["--workers", str(workers)]
        return argv, HttpProbe(f"http://127.0.0.1:{port}/uploads")
    if name == "raw":
        return [sys.executable, "-m", "benchmarks.raw_server", "--dir", str(directory)], UrlLine()
    command = server_command(PeerServer(name), directory)
    argv = list(command.argv)
    if name == PeerServer.AIOHTTP_TUS:
        argv += ["--client-max-size", str(AIOHTTP_TUS_MAX_SIZE)]
    if name == PeerServer.TUSD:
        argv.append(TUSD_QUIET)
    return argv, command.ready


@contextlib.contextmanager
def start(name: str, work: Path, tag: str = "") -> Iterator[Started]:
    """Run server ``name`` storing under ``work/store-<name><tag>`` until the block ends."""
    slug = name.replace("@", "").replace("/", "-").replace(" --", "-").replace(" ", "-")
    directory = work / f"store-{slug}{tag}"
    directory.mkdir(parents=True, exist_ok=True)
    argv, ready = _command(name, directory)
    env = {"PYTHONPATH": str(ROOT)}
    with running_server(argv, ready=ready, log_dir=work / f"logs-{slug}", env=env, cwd=ROOT) as r:
        yield Started(name, r.url, directory, r)


def clear_store(directory: Path) -> None:
    """Delete every file a server stored (directories stay: servers keep them open)."""
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)


def holds_file_of(directory: Path, size: int) -> bool:
    """True when a file of exactly ``size`` bytes is under ``directory`` (the upload's data)."""
    return any(p.is_file() and p.stat().st_size == size for p in directory.rglob("*"))


def reset_peak_rss(pid: int) -> None:
    """Reset the kernel's peak-RSS mark (VmHWM, ``clear_refs`` value 5) of ``pid`` and of
    each of its descendants."""
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{member}/clear_refs").write_text("5")


def _vm_hwm(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def peak_rss(pid: int) -> int | None:
    """Peak resident set of ``pid`` and its descendants, in bytes, since they started or
    the last :func:`reset_peak_rss`: the sum of each process's VmHWM. For one process that
    is its VmHWM; for several it is an upper bound on the tree's peak, since the processes
    need not peak at the same moment and pages they share (a forked worker's copy-on-write
    pages, shared libraries) count once per process. ``None`` when none could be read."""
    marks = [mark for mark in map(_vm_hwm, process_tree(pid)) if mark is not None]
    return sum(marks) if marks else None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time ``pid`` and its living descendants have used so far (all
    their threads), in seconds. Children that already exited are not counted (nor waited-for
    children's times, which the kernel keeps apart). ``None`` when none could be read."""
    ticks: int | None = None
    for member in process_tree(pid):
        fields = stat_fields(member)
        if fields is None or len(fields) < 13:
            continue
        # After the command name: state is field 3, utime and stime are fields 14 and 15.
        ticks = (ticks or 0) + int(fields[11]) + int(fields[12])
    return None if ticks is None else ticks / os.sysconf("SC_CLK_TCK")


def cpu_count() -> int:
    return os.cpu_count() or 1
