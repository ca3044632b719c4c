"""The 4 KiB part of ``python -m benchmarks --store s3`` (issue 23): uploads per second
through one tus server on S3Store, and through ``tus serve`` instances sharing one bucket
and one redis-server (the Redis locker), one and two of them.

With several instances the load is split: one ``benchmarks.load small`` process per
instance, all started at once, each with its share of the count and of the 32 uploads in
flight; :func:`combine` makes one figure of them.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import servers
from integration_tests.harness import LOOPBACK, HttpProbe, free_port, running_server
from integration_tests.redis_server import running_redis
from integration_tests.s3 import MotoS3
from integration_tests.scaleout import BASE_PATH, server_environment, tus_serve_argv

#: Uploads in flight at once, over all load processes.
CONCURRENCY = 32
#: The rows of the 4 KiB table, by their JSON key.
ROWS = {
    "small": "tuskit-server on S3Store, one process",
    "small_redis_one": "`tus serve`, Redis locker, one instance",
    "small_redis_two": "`tus serve`, Redis locker, two instances (load split)",
}
_LOAD_TIMEOUT = 900


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole shares (the first ones larger)."""
    if parts < 1:
        raise ValueError(f"cannot split over {parts} parts")
    whole, rest = divmod(total, parts)
    return [whole + (1 if n < rest else 0) for n in range(parts)]


def combine(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One figure of load processes run at once: all their uploads over the longest wall
    time (the load ends when the last process does); p50 and p99 are the largest of theirs,
    as the latencies themselves are not kept; the first error met, if any."""
    if not results:
        raise ValueError("no load results to combine")
    seconds = max(float(r["seconds"]) for r in results)
    uploads = sum(int(r["uploads"]) for r in results)

    def largest(key: str) -> float | None:
        values = [float(r[key]) for r in results if r.get(key) is not None]
        return max(values) if values else None

    errors = [r["first_error"] for r in results if r.get("first_error")]
    return {
        "uploads": uploads,
        "errors": sum(int(r["errors"]) for r in results),
        "seconds": seconds,
        "uploads_per_s": uploads / seconds if seconds > 0 else None,
        "p50_ms": largest("p50_ms"),
        "p99_ms": largest("p99_ms"),
        "first_error": errors[0] if errors else None,
        "processes": len(results),
    }


def _load_argv(url: str, count: int, concurrency: int, prefix: str) -> list[str]:
    argv = [sys.executable, "-m", "benchmarks.load", "small", url, "--count", str(count)]
    return [*argv, "--concurrency", str(concurrency), "--size", "4096", "--prefix", prefix]


def _split_load(urls: Sequence[str], count: int, prefix: str) -> dict[str, Any]:
    """One load process per URL, all at once, each with its share; combined."""
    counts, flights = shares(count, len(urls)), shares(CONCURRENCY, len(urls))
    started = [
        subprocess.Popen(
            _load_argv(url, n, flight, f"{prefix}{index}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=servers.ROOT,
        )
        for index, (url, n, flight) in enumerate(zip(urls, counts, flights, strict=True))
    ]
    results, failures = [], []
    for process in started:
        try:
            out, err = process.communicate(timeout=_LOAD_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        if process.returncode != 0:
            failures.append(err.strip()[-400:] or f"load exited {process.returncode}")
        else:
            results.append(json.loads(out.strip().splitlines()[-1]))
    if failures:
        return {"uploads_per_s": None, "error": "; ".join(failures)}
    return combine(results)


def measure(urls: Sequence[str], count: int) -> dict[str, Any]:
    """4 KiB uploads per second through ``urls`` together (a warm-up of 100 first)."""
    _split_load(urls, min(100, count), "warm")
    return _split_load(urls, count, "run")


def with_redis(moto: MotoS3, work: Path, count: int) -> dict[str, Any]:
    """``small_redis_one`` and ``small_redis_two``: ``tus serve`` with the Redis locker on
    a new bucket, measured alone, then with a second instance on the same bucket and Redis."""
    bucket, env = moto.new_bucket(), server_environment()
    data: dict[str, Any] = {}
    with running_redis(work / "redis") as redis, contextlib.ExitStack() as stack:
        urls = []
        for index in range(2):
            port = free_port()
            url = f"http://{LOOPBACK}:{port}{BASE_PATH}"
            argv = tus_serve_argv(port, moto.url, bucket, redis)
            log_dir = work / f"serve-{index}"
            stack.enter_context(
                running_server(argv, ready=HttpProbe(url), log_dir=log_dir, env=env)
            )
            urls.append(url)
            key = "small_redis_one" if index == 0 else "small_redis_two"
            data[key] = measure(urls, count)
    return data


def render(data: Mapping[str, Any]) -> list[str]:
    """The 4 KiB table's lines (rows not measured left out)."""
    lines = [
        f"| 4 KiB uploads, {CONCURRENCY} at once | uploads/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|",
    ]
    for key, title in ROWS.items():
        if key not in data:
            continue
        row = data[key]
        lines.append(
            f"| {title} | {row.get('uploads_per_s') or 0:.0f} | {row.get('p50_ms') or 0:.0f} "
            f"| {row.get('p99_ms') or 0:.0f} | {row.get('errors', row.get('error'))} |"
        )
    return lines
