"""Fixtures for the examples' tests: run an example server as its own process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent

RunServer = Callable[..., AbstractAsyncContextManager[str]]


@asynccontextmanager
async def _run_server(
    script: str, storage: Path, env: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """Start ``examples/<script>`` on a free loopback port; yield its creation URL; stop it
    with SIGTERM and require a clean exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / script),
        "--port",
        "0",
        "--storage",
        str(storage),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.startswith(b"http://127.0.0.1:"), line
        yield line.decode().strip()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


@pytest.fixture
def run_server() -> RunServer:
    return _run_server


async def run_example(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``python examples/<args>``; its exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / args[0]),
        *args[1:],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
