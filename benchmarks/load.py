"""Load generators, run as a subprocess so they never share a core's loop with the server.

    python -m benchmarks.load small URL --count N --concurrency 32 --size 4096 [--prefix P]
    python -m benchmarks.load slow URL --connections 500 --max-seconds S

``small``: ``count`` uploads of ``size`` bytes, each a POST then one PATCH, from
``concurrency`` keep-alive connections; prints ``{"uploads", "errors", "seconds",
"uploads_per_s", "p50_ms", "p99_ms", "first_error"}``.

``slow``: opens ``connections`` uploads, each a POST then a PATCH whose body trickles
(``trickle`` bytes every ``interval`` s) and never ends. Prints ``{"open": n, ...}`` once all
are open, keeps them open until stdin closes or ``max_seconds`` pass, then exits (every loop
is bounded in time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time

from benchmarks.wire import Connection, creation_headers
from tuskit_common import headers as h


def _append_headers(offset: int) -> dict[str, str]:
    return {
        h.TUS_RESUMABLE: h.PROTOCOL_VERSION,
        h.CONTENT_TYPE: h.OFFSET_OCTET_STREAM,
        h.UPLOAD_OFFSET: str(offset),
    }


async def _one_small(conn: Connection, url: str, body: bytes, name: str) -> str | None:
    created = await conn.request("POST", url, creation_headers(len(body), name))
    location = created.headers.get("location")
    if created.status != 201 or location is None:
        return f"POST {created.status} {created.body[:200]!r}"
    appended = await conn.request("PATCH", location, _append_headers(0), body)
    if appended.status != 204:
        return f"PATCH {appended.status} {appended.body[:200]!r}"
    return None


async def small(
    url: str, count: int, concurrency: int, size: int, prefix: str = "small"
) -> dict[str, object]:
    body = b"x" * size
    latencies: list[float] = []
    errors: list[str] = []
    next_index = 0

    async def worker(number: int) -> None:
        nonlocal next_index
        conn = Connection(url)
        try:
            while next_index < count:
                index = next_index
                next_index += 1
                started = time.perf_counter()
                try:
                    error = await _one_small(conn, url, body, f"{prefix}-{number}-{index}.bin")
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    await conn.close()
                if error is None:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors.append(error)
        finally:
            await conn.close()

    started = time.perf_counter()
    async with asyncio.timeout(600):
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    seconds = time.perf_counter() - started
    latencies.sort()

    def quantile(q: float) -> float | None:
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "uploads": len(latencies),
        "errors": len(errors),
        "seconds": seconds,
        "uploads_per_s": len(latencies) / seconds,
        "p50_ms": quantile(0.50),
        "p99_ms": quantile(0.99),
        "first_error": errors[0] if errors else None,
    }


async def _one_slow(url: str, number: int, length: int) -> Connection:
    conn = Connection(url)
    created = await conn.request("POST", url, creation_headers(length, f"slow-{number}.bin"))
    location = created.headers.get("location")
    if created.status != 201 or location is None:
        raise OSError(f"POST {created.status} {created.body[:200]!r}")
    await conn.send_head("PATCH", location, _append_headers(0), length)
    return conn


async def slow(
    url: str, connections: int, max_seconds: float, trickle: int, interval: float
) -> None:
    length = (1 << 30) + 12345  # never reached (and no benchmark file has this size)
    started = time.monotonic()
    results = await asyncio.gather(
        *(_one_slow(url, n, length) for n in range(connections)), return_exceptions=True
    )
    conns = [r for r in results if isinstance(r, Connection)]
    failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    print(
        json.dumps(
            {
                "open": len(conns),
                "failed": len(failures),
                "first_error": failures[0] if failures else None,
                "open_seconds": time.monotonic() - started,
            }
        ),
        flush=True,
    )
    stdin_closed = _watch_stdin()
    sent = 0
    piece = b"s" * trickle
    deadline = started + max_seconds
    while not stdin_closed.is_set() and time.monotonic() < deadline:
        sent += sum(trickle for conn in conns if conn.write(piece))
        await asyncio.sleep(interval)
    for conn in conns:
        await conn.close()
    print(json.dumps({"trickled_bytes": sent}), flush=True)


def _watch_stdin() -> asyncio.Event:
    """An event set once stdin reaches EOF (the parent's signal to stop); a daemon thread
    reads it, so a parent that never closes it cannot keep this process alive."""
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()

    def read() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(closed.set)

    threading.Thread(target=read, daemon=True).start()
    return closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("small")
    s.add_argument("url")
    s.add_argument("--count", type=int, default=2000)
    s.add_argument("--concurrency", type=int, default=32)
    s.add_argument("--size", type=int, default=4096)
    s.add_argument("--prefix", default="small", help="file names (aiohttp-tus refuses reuse)")
    w = sub.add_parser("slow")
    w.add_argument("url")
    w.add_argument("--connections", type=int, default=500)
    w.add_argument("--max-seconds", type=float, default=600.0)
    w.add_argument("--trickle", type=int, default=256)
    w.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    if args.mode == "small":
        result = asyncio.run(small(args.url, args.count, args.concurrency, args.size, args.prefix))
        print(json.dumps(result), flush=True)
    else:
        asyncio.run(slow(args.url, args.connections, args.max_seconds, args.trickle, args.interval))


if __name__ == "__main__":
    main()
