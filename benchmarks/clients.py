"""One timed large upload with one client, in a subprocess whose peak RSS is measured.

tuskit-client, tuspy and aiotus run in :mod:`benchmarks.client_runner` (timed inside the
process, around the upload only). tus-js-client runs the interop suite's
``tus_js_client.mjs`` and is timed from spawn to exit, so its figure includes Node.js start-up
(measured separately and reported as ``startup_s``). curl is the raw limit's client and is
timed by its own ``%{time_total}``. The client's peak RSS is the ``ru_maxrss`` the kernel
reports for the child when it is reaped (``os.wait4``).

The client's CPU time (user + system, all threads) covers what its clock covers: the Python
clients measure it around the upload themselves; for tus-js-client and curl it is the whole
process's, from the same ``os.wait4``. Set beside the seconds, it tells whether the client
itself was the limit (a client busy for the whole upload cannot go faster, whatever the
server does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.servers import ROOT
from integration_tests.peers.drivers import HERE as PEERS_DIR
from integration_tests.peers.drivers import PeerClient, node, node_prefix

CLIENTS = ("tuskit", str(PeerClient.TUS_JS_CLIENT), str(PeerClient.TUSPY), str(PeerClient.AIOTUS))
METADATA = {"filename": "bench.bin", "filetype": "application/octet-stream"}


@dataclass(frozen=True, slots=True)
class ClientRun:
    """What one client process did: success, seconds, peak RSS, CPU seconds and its last
    output."""

    ok: bool
    seconds: float
    rss: int | None
    cpu: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class _Spawned:
    """A finished child: exit status, wall seconds, peak RSS and CPU time (the kernel's
    accounting at reaping), and its output."""

    code: int
    wall: float
    rss: int
    cpu: float
    out: str
    err: str


def _spawn(argv: list[str], work: Path, timeout: float) -> _Spawned:
    """Run ``argv`` to completion."""
    out_path, err_path = work / "client.out", work / "client.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # the run is stopping (SIGTERM, Ctrl-C): no client outlives it
            process.kill()
            process.wait()
            raise
        finally:
            watchdog.cancel()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return _Spawned(
        code=process.returncode,
        wall=seconds,
        rss=usage.ru_maxrss * 1024,
        cpu=usage.ru_utime + usage.ru_stime,
        out=out_path.read_text(errors="replace"),
        err=err_path.read_text(errors="replace"),
    )


def _last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _summary(result: dict[str, Any] | None, code: int, stderr: str) -> str:
    if result is not None and not result.get("ok", False):
        parts = [str(result.get("error", ""))]
        if result.get("status") is not None:
            parts.append(f"status {result['status']}")
        if result.get("body"):
            parts.append(f"body {str(result['body'])[:200]!r}")
        return "; ".join(parts)
    return f"exit {code}: {stderr.strip()[-400:]}"


def upload(
    client: str,
    endpoint: str,
    file: Path,
    size: int,
    chunk_size: int | None,
    work: Path,
    timeout: float,
) -> ClientRun:
    """Upload ``file`` once to ``endpoint`` with ``client``; ``chunk_size`` None: one request."""
    work.mkdir(parents=True, exist_ok=True)
    job: dict[str, Any] = {"endpoint": endpoint, "file": str(file), "metadata": METADATA}
    if client == PeerClient.TUS_JS_CLIENT:
        job["chunkSize"] = chunk_size  # null: tus-js-client's default, Infinity (one request)
        argv = [node(), str(PEERS_DIR / "tus_js_client.mjs"), "--modules", str(node_prefix())]
    else:
        # aiotus has no "everything" setting: one chunk of the whole size is one request.
        job["chunk_size"] = (
            size if chunk_size is None and client == PeerClient.AIOTUS else (chunk_size)
        )
        argv = [sys.executable, "-m", "benchmarks.client_runner", client]
    job_path = work / "job.json"
    job_path.write_text(json.dumps(job))
    done = _spawn([*argv, str(job_path)], work, timeout)
    result = _last_json(done.out)
    if done.code != 0 or result is None or not result.get("ok", False):
        return ClientRun(False, done.wall, done.rss, None, _summary(result, done.code, done.err))
    seconds = float(result.get("seconds", done.wall))
    cpu = float(result.get("cpu_seconds", done.cpu))
    return ClientRun(True, seconds, done.rss, cpu, None)


def node_startup(work: Path) -> float:
    """Seconds Node.js takes to start and load tus-js-client (no upload), median of 3."""
    script = (
        "const { createRequire } = require('node:module');"
        f"createRequire({json.dumps(str(node_prefix() / 'index.js'))})('tus-js-client')"
    )
    times = sorted(_spawn([node(), "-e", script], work, 60).wall for _ in range(3))
    return times[1]


def curl_put(url: str, file: Path, work: Path, timeout: float) -> ClientRun:
    """PUT ``file`` with curl (no ``Expect: 100-continue``); timed by curl itself."""
    argv = [
        "curl",
        "--silent",
        "--show-error",
        "--output",
        "/dev/null",
        "--upload-file",
        str(file),
        "--header",
        "Expect:",
        "--write-out",
        "%{http_code} %{time_total}",
        url,
    ]
    done = _spawn(argv, work, timeout)
    fields = done.out.split()
    if done.code != 0 or len(fields) != 2 or fields[0] != "201":
        error = f"curl exit {done.code}: {done.out} {done.err.strip()[-300:]}"
        return ClientRun(False, done.wall, done.rss, None, error)
    return ClientRun(True, float(fields[1]), done.rss, done.cpu, None)
