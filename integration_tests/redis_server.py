"""A throwaway redis-server on a free loopback port (Debian's ``redis-server``, installed
with :func:`~integration_tests.debian.debian_tool` when missing), with nothing persisted,
that a test can stop and start again on the same port (a Redis outage and its return).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.debian import MissingTool, debian_tool
from integration_tests.harness import LOOPBACK, free_port
from integration_tests.processes import stop_process

__all__ = ["RedisServer", "redis_binary", "running_redis"]

_START_TIMEOUT = 10.0


def redis_binary() -> str:
    """redis-server's path (installed now when missing and running as root), else the test
    fails saying what is missing."""
    try:
        return debian_tool("redis-server", "redis-server")
    except MissingTool as exc:
        pytest.fail(f"the Redis locker tests need a real Redis: {exc}")


class RedisServer:
    """One redis-server process on ``port``, in the folder ``work``."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        """Start it (again) on the same port; return once it answers PING."""
        argv = [self.binary, "--bind", LOOPBACK, "--port", str(self.port), "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.work), "--daemonize", "no"]
        log = (self.work / "redis.log").open("ab")
        with log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._pong():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = (self.work / "redis.log").read_text(errors="replace")
                raise RuntimeError(f"redis-server did not start:\n{output[-2000:]}")
            time.sleep(0.02)

    def _pong(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, self.port), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        """Stop it (its clients' connections close; everything it held is forgotten)."""
        process, self.process = self.process, None
        if process is None:
            return
        stop_process(process)


@contextlib.contextmanager
def running_redis(work: Path) -> Iterator[RedisServer]:
    """A started :class:`RedisServer` in ``work``, stopped when the block ends."""
    work.mkdir(parents=True, exist_ok=True)
    server = RedisServer(redis_binary(), work)
    server.start()
    try:
        yield server
    finally:
        server.stop()
