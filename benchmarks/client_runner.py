"""Run one timed upload with a Python client in this process; print one JSON line.

    python -m benchmarks.client_runner {tuskit|tuspy|aiotus} JOB.json

The job is the interop suite's job format (``endpoint``, ``file``, ``metadata``,
``chunk_size``; see :mod:`integration_tests.peers.pyclients`), whose tuspy and aiotus
drivers are reused here. The clock runs around the upload only, after the imports, so the
interpreter's start-up is not counted; the process's CPU time (all threads) is taken around
the same span. Result: ``{"ok", "seconds", "cpu_seconds", "url"?, "error"?}``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from integration_tests.peers import pyclients

Result = dict[str, Any]


async def _tuskit(job: dict[str, Any]) -> Result:
    from tuskit_client import Client

    metadata = {k: (None if v is None else v.encode()) for k, v in job["metadata"].items()}
    async with Client(job["endpoint"], chunk_size=job.get("chunk_size")) as client:
        result = await client.upload(job["file"], metadata=metadata, resume=False)
    return {"ok": True, "url": str(result.url)}


def run(client: str, job: dict[str, Any]) -> Result:
    """Upload once with ``client``; the result carries the seconds the upload took and the
    CPU seconds the process spent meanwhile."""
    if client == "tuskit":
        importlib.import_module("tuskit_client")
        started, cpu = time.perf_counter(), time.process_time()
        result = asyncio.run(_tuskit(job))
    elif client == "tuspy":
        importlib.import_module("tusclient.client")
        started, cpu = time.perf_counter(), time.process_time()
        result = pyclients.run_tuspy(job)
    elif client == "aiotus":
        importlib.import_module("aiotus")
        started, cpu = time.perf_counter(), time.process_time()
        result = pyclients.run_aiotus(job)
    else:
        raise SystemExit(f"unknown client {client!r}")
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = time.process_time() - cpu
    return result


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m benchmarks.client_runner CLIENT JOB.json")
    job = json.loads(Path(sys.argv[2]).read_text())
    try:
        result = run(sys.argv[1], job)
    except Exception as exc:  # one line of evidence for the table's n.a. note
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
