"""Processes seen through Linux's /proc: the live process tree of a server (its workers) and
whether a process still runs. Used by the ``--workers`` tests and by the benchmark's RSS and
CPU figures. Also how a helper server process the tests started is stopped."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["is_running", "process_tree", "stat_fields", "stop_process"]


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM ``process``, SIGKILL it if it has not ended within ``timeout`` seconds, and
    reap it, so no helper server outlives its test."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name (field 3, the state, first); ``None``
    when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody reaped yet counts as gone)."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants, ``pid`` first (parents from the ``ppid`` field
    of every ``/proc/<n>/stat``; zombies and processes that exit during the scan are left
    out)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = stat_fields(int(entry.name))
        if fields is None or len(fields) < 2 or fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree = [pid]
    for parent in tree:  # grows while it is walked: breadth first
        tree += children.get(parent, [])
    return tree
