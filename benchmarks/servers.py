"""The servers under test, as subprocesses: tuskit-server, the three peer servers, and the
raw aiohttp PUT handler. Also the process measurements (peak RSS) and store clean-up.

Peer servers are started with the interop suite's own commands
(:func:`integration_tests.peers.drivers.server_command`), which need the peers installed by
the ``interop`` (or ``bench``) nox session.
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

ROOT = Path(__file__).resolve().parent.parent
TUSKIT = "tuskit"
SERVERS = (TUSKIT, str(PeerServer.TUS_NODE_SERVER), str(PeerServer.AIOHTTP_TUS), "tuspyserver")
#: aiohttp-tus reads a PATCH body whole, capped by aiohttp's client_max_size: it is raised to
#: take an 8 MiB chunk (plus slack), which is the most a chunked client sends.
AIOHTTP_TUS_MAX_SIZE = 9 * 1024 * 1024


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


def _command(name: str, directory: Path) -> tuple[list[str], ReadyCheck]:
    if name == TUSKIT:
        port = free_port()
        argv = [sys.executable, "-m", "tuskit_server", "--dir", str(directory)]
        argv += ["--port", str(port)]
        return argv, HttpProbe(f"http://127.0.0.1:{port}/uploads")
    if name == "raw":
        return [sys.executable, "-m", "benchmarks.raw_server", "--dir", str(directory)], UrlLine()
    command = server_command(PeerServer(name), directory)
    argv = list(command.argv)
    if name == PeerServer.AIOHTTP_TUS:
        argv += ["--client-max-size", str(AIOHTTP_TUS_MAX_SIZE)]
    return argv, command.ready


@contextlib.contextmanager
def start(name: str, work: Path, tag: str = "") -> Iterator[Started]:
    """Run server ``name`` storing under ``work/store-<name><tag>`` until the block ends."""
    slug = name.replace("@", "").replace("/", "-")
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
    """Reset the kernel's peak-RSS mark (VmHWM) of ``pid`` (``clear_refs`` value 5)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss(pid: int) -> int | None:
    """VmHWM of ``pid`` in bytes: its peak resident set since start or the last reset."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time ``pid`` has used so far (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_count() -> int:
    return os.cpu_count() or 1
