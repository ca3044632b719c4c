"""``python -m benchmarks``: tuskit against the official tus implementations, in one run.

    python -m benchmarks [--size 1GiB] [--reps 3] [--out benchmarks/results.json]

Measures, over loopback only: small uploads (4 KiB, POST + PATCH, concurrency 32) per server,
first and with the servers taking turns, median of ``--reps``, with the server's CPU time per
upload (on more than one core, tuskit also with ``--workers`` = cores, right after tuskit);
then, with every server running, one unmeasured warm-up round and ``--reps`` rounds of the
raw limit (curl PUT into a plain aiohttp handler) followed by a large upload for every
server × client pair, in one request and in 8 MiB chunks (median MB/s, peak RSS and CPU
seconds of the server and the client; each client's turn opens with one unmeasured
upload); and the large upload while 500 slow uploads are held open. Last, issue 7's
and issue 24's (tusd) targets judged from those figures. On a VM that reports freed memory
to its host, that reporting is held back for the run (``benchmarks/free_pages.py``), which
otherwise makes the same upload several times slower or faster by when the previous file
was deleted.
Prints Markdown tables and writes every figure (each repetition too) as JSON. The peers must
be installed as the ``interop``/``bench`` nox sessions install them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import clients, free_pages, servers
from benchmarks.measure import (
    Settings,
    large_cells,
    loaded_runs,
    raw_limit,
    raw_once,
    small_runs,
    warm_up,
)
from benchmarks.report import render
from integration_tests.harness import make_file

_UNITS = {"": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6, "gb": 10**9}


def parse_size(text: str) -> int:
    """``1GiB``, ``64MiB``, ``4096`` to bytes."""
    lowered = text.strip().lower()
    digits = lowered.rstrip("kmgib")
    unit = lowered[len(digits) :]
    if unit not in _UNITS or not digits:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(float(digits) * _UNITS[unit])


def ensure_curl() -> str:
    """curl's path; installed with apt-get when missing and possible, else exit with why."""
    found = shutil.which("curl")
    if found is None and shutil.which("apt-get") is not None:
        subprocess.run(["apt-get", "install", "-y", "-q", "curl"], check=False)
        found = shutil.which("curl")
    if found is None:
        raise SystemExit("curl is needed for the raw limit: install it (apt-get install curl)")
    return found


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // 2**20
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return (
        f"{servers.cpu_count()} cores ({model}), {memory} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, Node.js {node.stdout.strip()}"
    )


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so a stopped run still stops its servers and restores
    the machine settings it changed (``finally`` blocks do not run on Python's default
    SIGTERM)."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def small_servers(names: list[str]) -> list[str]:
    """The servers of the small-upload phase: ``names``, with tuskit as one worker process
    per core right after tuskit when tuskit is among them and there is more than one core.
    The other phases run tuskit as one process only."""
    cores = servers.cpu_count()
    out: list[str] = []
    for name in names:
        out.append(name)
        if name == servers.TUSKIT and cores > 1:
            out.append(servers.tuskit_workers(cores))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", type=parse_size, default=2**30, help="large file (1GiB)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per cell (3)")
    parser.add_argument("--chunk", type=parse_size, default=8 * 2**20, help="chunk (8MiB)")
    parser.add_argument("--small-count", type=int, default=3000, help="small uploads (3000)")
    parser.add_argument("--slow", type=int, default=500, help="slow uploads held open (500)")
    parser.add_argument("--servers", nargs="+", default=list(servers.SERVERS))
    parser.add_argument("--clients", nargs="+", default=list(clients.CLIENTS))
    parser.add_argument("--modes", nargs="+", default=["single", "chunked"])
    parser.add_argument("--skip-small", action="store_true")
    parser.add_argument("--skip-loaded", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    parser.add_argument("--work", type=Path, default=None, help="scratch dir (a temp dir)")
    parser.add_argument(
        "--leave-free-page-reporting",
        action="store_true",
        help="do not hold back the VM's free page reporting during the run",
    )
    parser.add_argument(
        "--store",
        choices=["file", "s3"],
        default="file",
        help="s3: S3Store against the raw limit of moto's S3 server (benchmarks/s3.py)",
    )
    args = parser.parse_args(argv)
    if args.store == "s3":
        from benchmarks import s3

        if args.out == Path("benchmarks/results.json"):
            args.out = Path("benchmarks/results-s3.json")
        s3.run(args)
        return
    ensure_curl()
    exit_on_sigterm()
    work = args.work or Path(tempfile.mkdtemp(prefix="tuskit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        size=args.size,
        reps=args.reps,
        chunk=args.chunk,
        work=work,
        slow=args.slow,
        small_count=args.small_count,
    )
    data: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "size": args.size,
        "chunk": args.chunk,
        "reps": args.reps,
        "servers": args.servers,
        "clients": args.clients,
        "small_count": args.small_count,
        "slow_connections": args.slow,
    }
    try:
        machine_setting = (
            contextlib.nullcontext("free page reporting left as it is (as asked)")
            if args.leave_free_page_reporting
            else free_pages.held()
        )
        with machine_setting as note:
            data["free_pages"] = note
            print(note, file=sys.stderr, flush=True)
            _measure(args, settings, data)
    finally:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1))
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(render(data))
    print(f"\nJSON: {args.out}", file=sys.stderr)


def _measure(args: argparse.Namespace, settings: Settings, data: dict[str, object]) -> None:
    """Every phase in turn, each adding its figures to ``data`` as it ends."""
    work = settings.work
    small: dict[str, object] = {}
    data["small"] = small
    if not args.skip_small:
        print("small uploads...", file=sys.stderr, flush=True)
        small.update(small_runs(settings, small_servers(args.servers)))
    source = make_file(work / "bench.bin", args.size).path
    data["node_startup_s"] = clients.node_startup(work)
    loaded: list[dict[str, object]] = []
    data["loaded"] = loaded
    with contextlib.ExitStack() as stack:
        raw_server = stack.enter_context(servers.start("raw", work))
        started = {name: stack.enter_context(servers.start(name, work)) for name in args.servers}
        warm_up(settings, started, args.clients, args.modes, source, raw_server)
        raw_runs: list[dict[str, object]] = []
        data["large"] = large = large_cells(
            settings,
            started,
            args.clients,
            args.modes,
            source,
            before_round=lambda rep: raw_runs.append(raw_once(settings, raw_server, source, rep)),
        )
        data["raw"] = raw = raw_limit(raw_runs)
        if not args.skip_loaded:
            for server in args.servers:
                for mode in args.modes:
                    base = large.get(mode, {}).get(server, {}).get("tuskit")
                    if base is None or base.get("mb_s") is None:
                        continue
                    print(f"{server}: {args.slow} slow uploads, {mode}...", file=sys.stderr)
                    loaded.append(
                        loaded_runs(settings, started[server], mode, source, base["mb_s"])
                    )
    print(f"raw {raw['mb_s']:.0f} MB/s", file=sys.stderr)


if __name__ == "__main__":
    main()
