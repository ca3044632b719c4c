"""The measurements: each returns plain JSON-ready dicts (every repetition kept)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import clients, servers

Cell = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Settings:
    size: int
    reps: int
    chunk: int
    work: Path
    slow: int
    small_count: int

    @property
    def timeout(self) -> float:
        """Longest one upload may take (a 2 MB/s floor), so every run ends by itself."""
        return 120.0 + self.size / 2e6

    def chunk_for(self, mode: str) -> int | None:
        return None if mode == "single" else self.chunk


def _mb_s(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def _timed_upload(
    settings: Settings, server: servers.Started, client: str, mode: str, source: Path, tag: str
) -> Cell:
    """One upload with the server's peak RSS reset before it and read after it, and the CPU
    time the server spent meanwhile."""
    servers.reset_peak_rss(server.pid)
    cpu_before = servers.cpu_seconds(server.pid)
    run = clients.upload(
        client,
        server.url,
        source,
        settings.size,
        settings.chunk_for(mode),
        settings.work / "clients" / tag,
        settings.timeout,
    )
    server_rss = servers.peak_rss(server.pid)
    server_cpu = _spent(cpu_before, servers.cpu_seconds(server.pid))
    error = run.error
    if run.ok and not servers.holds_file_of(server.directory, settings.size):
        error = f"client reported success but no stored file has {settings.size} bytes"
    servers.clear_store(server.directory)
    return {
        "ok": error is None,
        "seconds": run.seconds,
        "mb_s": _mb_s(settings.size, run.seconds) if error is None else None,
        "server_rss": server_rss,
        "client_rss": run.rss,
        "server_cpu": server_cpu,
        "client_cpu": run.cpu,
        "error": error,
    }


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _median_of(runs: list[Cell], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _summarise(runs: list[Cell]) -> Cell:
    good = [r for r in runs if r["ok"]]
    if len(good) < len(runs) or not good:
        failed = next(r for r in runs if not r["ok"])
        return {
            "mb_s": None,
            "note": failed["error"],
            "server_rss": None,
            "client_rss": None,
            "seconds": None,
            "server_cpu": None,
            "client_cpu": None,
            "runs": runs,
        }
    return {
        "mb_s": statistics.median(r["mb_s"] for r in good),
        "note": None,
        "server_rss": max((r["server_rss"] or 0) for r in good) or None,
        "client_rss": max((r["client_rss"] or 0) for r in good) or None,
        "seconds": statistics.median(r["seconds"] for r in good),
        "server_cpu": _median_of(good, "server_cpu"),
        "client_cpu": _median_of(good, "client_cpu"),
        "runs": runs,
    }


def large_cells(
    settings: Settings,
    started: dict[str, servers.Started],
    client_names: list[str],
    modes: list[str],
    source: Path,
    before_round: Callable[[int], None],
) -> dict[str, dict[str, dict[str, Cell]]]:
    """``reps`` rounds of the large upload, each round every mode × client × server pair in
    turn, so a slow spell of the shared machine hits all pairs alike rather than the ones
    measured during it; the servers' order rotates from round to round. A pair that failed
    is not run again (its error is the note).

    Each client's turn in a round opens with one upload nobody measures (see
    :func:`_settle`), so that no server pays for being first after a change of client.
    ``before_round(rep)`` runs first in each round (the raw limit's repetition).
    Returns ``{mode: {server: {client: cell}}}``."""
    runs: dict[tuple[str, str, str], list[Cell]] = {}
    order = list(started.values())
    for rep in range(settings.reps):
        before_round(rep)
        turn = order[rep % len(order) :] + order[: rep % len(order)]
        for mode in modes:
            for client in client_names:
                failed = {
                    server.name
                    for server in turn
                    if (past := runs.get((mode, server.name, client))) and not past[-1]["ok"]
                }
                working = [server for server in turn if server.name not in failed]
                _settle(settings, working, client, mode, source, rep)
                for server in turn:
                    pair = runs.setdefault((mode, server.name, client), [])
                    if server.name in failed:
                        continue
                    print(f"{server.name} <- {client}, {mode}, round {rep + 1}...", file=sys.stderr)
                    slug = f"{server.name}-{client}-{mode}-{rep}".replace("@", "")
                    run = _timed_upload(
                        settings, server, client, mode, source, slug.replace("/", "-")
                    )
                    print(f"  {run['mb_s'] or run['error']}", file=sys.stderr, flush=True)
                    pair.append(run)
    table: dict[str, dict[str, dict[str, Cell]]] = {}
    for (mode, server_name, client), pair in runs.items():
        table.setdefault(mode, {}).setdefault(server_name, {})[client] = _summarise(pair)
    return table


def _settle(
    settings: Settings,
    turn: list[servers.Started],
    client: str,
    mode: str,
    source: Path,
    rep: int,
) -> None:
    """One upload by ``client`` to the first server of ``turn``, its figures dropped.

    Why: the first upload after a change of client ran slower than the rest, whichever
    server took it. Over the full runs at 29ad320, c9e8f30 and 529b89d (3 rounds each), a
    peer client's upload reached on average 0.96 of its cell's median when it came first
    in its client's turn and 1.05 when it came later (45 and 144 uploads). With 3 rounds and
    4 servers the rotation puts one server first in no round at all, so the first place's
    cost fell on the others: tuskit-server, first in round one, got 0.93 of its medians
    there from the peer clients. A likely cause is the machine handing freed memory back to
    its host (the README has the measurements); this upload takes the cost for every server
    alike.
    """
    if turn:
        _unmeasured(settings, turn[0], client, mode, source, f"settle-{rep}")


def _unmeasured(
    settings: Settings,
    server: servers.Started,
    client: str,
    mode: str,
    source: Path,
    label: str,
) -> None:
    """One upload whose figures are dropped (a warm-up or a settling upload)."""
    slug = f"{label}-{server.name}-{client}-{mode}".replace("@", "").replace("/", "-")
    run = _timed_upload(settings, server, client, mode, source, slug)
    outcome = run["mb_s"] or run["error"]
    print(
        f"  {label} {server.name} <- {client}, {mode} (not measured): {outcome}",
        file=sys.stderr,
        flush=True,
    )


def warm_up(
    settings: Settings,
    started: dict[str, servers.Started],
    client_names: list[str],
    modes: list[str],
    source: Path,
    raw: servers.Started,
) -> None:
    """One round nobody measures before the measured ones: the raw PUT and every mode ×
    client × server pair once, their figures dropped. Why: over the runs kept in
    ``benchmarks/runs``, the first round was slower than the median of the others for most
    pairs with one request (down to a third for the first 1 GiB that tuspy sent, which
    always went to the first server in the order), so round one measured the machine's
    warm-up and charged it to whichever server came first."""
    print("warm-up round (not measured)...", file=sys.stderr, flush=True)
    raw_once(settings, raw, source, -1)  # -1: the warm-up
    for mode in modes:
        for client in client_names:
            for server in started.values():
                _unmeasured(settings, server, client, mode, source, "warm-up")


def raw_once(settings: Settings, raw: servers.Started, source: Path, rep: int) -> Cell:
    """One curl PUT of the same bytes into :mod:`benchmarks.raw_server`."""
    when = f"round {rep + 1}" if rep >= 0 else "warm-up"
    print(f"raw limit, {when}...", file=sys.stderr, flush=True)
    servers.reset_peak_rss(raw.pid)
    cpu_before = servers.cpu_seconds(raw.pid)
    run = clients.curl_put(f"{raw.url}/bench-{rep}.bin", source, settings.work, settings.timeout)
    server_cpu = _spent(cpu_before, servers.cpu_seconds(raw.pid))
    ok = run.ok and servers.holds_file_of(raw.directory, settings.size)
    servers.clear_store(raw.directory)
    return {
        "ok": ok,
        "seconds": run.seconds,
        "mb_s": _mb_s(settings.size, run.seconds) if ok else None,
        "server_rss": servers.peak_rss(raw.pid),
        "client_rss": run.rss,
        "server_cpu": server_cpu,
        "client_cpu": run.cpu,
        "error": run.error if run.error or ok else "the stored file has the wrong size",
    }


def raw_limit(runs: list[Cell]) -> Cell:
    """The raw limit's repetitions summarised; without a figure there is nothing to compare."""
    cell = _summarise(runs)
    if cell["mb_s"] is None:
        raise SystemExit(f"the raw limit could not be measured: {cell['note']}")
    return cell


def small_runs(settings: Settings, names: list[str]) -> dict[str, Cell]:
    """The small-upload load generator against each server, ``reps`` rounds with the
    servers in turn (so a slow spell of the machine hits them alike), median per server.

    Each run gets a fresh server and store, nothing is deleted until the benchmark ends,
    and the phase starts once the file system has settled: on ext4 without a journal (this
    kind of VM disk), creating a file within ``vm.dirty_expire_centisecs`` (30 s) of
    thousands of deletions first scans past the recently freed inodes, which slowed
    whichever server came after a clean-up several times over.
    """
    time.sleep(_settle_seconds())
    rounds: dict[str, list[Cell]] = {name: [] for name in names}
    for rep in range(settings.reps):
        for name in names:
            with servers.start(name, settings.work, tag=f"-small-{rep}") as server:
                rounds[name].append(_small_once(settings, server))
    return {name: _median_small(runs) for name, runs in rounds.items()}


def _settle_seconds() -> float:
    """How long the kernel counts a freed inode as recently deleted (at most a minute)."""
    try:
        centis = int(Path("/proc/sys/vm/dirty_expire_centisecs").read_text())
    except (OSError, ValueError):
        centis = 3000
    return min(centis / 100, 60.0) + 1.0


def _small_once(settings: Settings, server: servers.Started) -> Cell:
    """One warm-up, then the measured run with the server's CPU time around it."""
    result: Cell = {}
    for prefix, count in (("warm", min(200, settings.small_count)), ("run", settings.small_count)):
        argv = [sys.executable, "-m", "benchmarks.load", "small", server.url]
        argv += ["--count", str(count), "--concurrency", "32", "--size", "4096"]
        argv += ["--prefix", prefix]
        cpu_before = servers.cpu_seconds(server.pid)
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=900, cwd=servers.ROOT, check=False
        )
        spent = _spent(cpu_before, servers.cpu_seconds(server.pid))
        if done.returncode != 0:
            return {"uploads_per_s": None, "error": done.stderr.strip()[-400:]}
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if spent is not None and result["uploads"]:
            result["server_cpu_ms"] = spent * 1000 / result["uploads"]
    result["server_rss"] = servers.peak_rss(server.pid)
    return result


def _median_small(runs: list[Cell]) -> Cell:
    """The run with the median uploads/s (its own latencies), every run kept."""
    good = [r for r in runs if r.get("uploads_per_s") is not None]
    if not good:
        return {"uploads_per_s": None, "error": runs[0].get("error") if runs else None}
    good.sort(key=lambda r: r["uploads_per_s"])
    median = dict(good[(len(good) - 1) // 2])
    median["server_cpu_ms"] = _median_of(good, "server_cpu_ms")
    median["runs"] = runs
    return median


def loaded_runs(
    settings: Settings, server: servers.Started, mode: str, source: Path, unloaded: float
) -> Cell:
    """tuskit-client's large upload while ``slow`` slow uploads are held open."""
    argv = [sys.executable, "-m", "benchmarks.load", "slow", server.url]
    argv += ["--connections", str(settings.slow)]
    argv += ["--max-seconds", str(settings.timeout * settings.reps + 120)]
    log = (settings.work / "slow.err").open("w")
    load = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=servers.ROOT,
    )
    try:
        assert load.stdout is not None
        assert load.stdin is not None
        opened = json.loads(load.stdout.readline() or "{}")
        runs = [
            _timed_upload(settings, server, "tuskit", mode, source, f"loaded-{mode}-{rep}")
            for rep in range(settings.reps)
        ]
        load.stdin.close()
        load.wait(60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
        log.close()
        servers.clear_store(server.directory)
    cell = _summarise(runs)
    return {
        "server": server.name,
        "mode": mode,
        "open": opened.get("open", 0),
        "open_failed": opened.get("failed"),
        "open_error": opened.get("first_error"),
        "unloaded_mb_s": unloaded,
        **cell,
    }
