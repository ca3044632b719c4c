"""Test harness shared by the integration and interop tests: server processes and test files.

- :func:`running_server` starts any server as a subprocess (a command line plus a readiness
  check), hands back its URL and stops it afterwards, SIGTERM first and SIGKILL if it hangs.
  Two readiness checks exist: :class:`UrlLine` (the server binds port 0 itself and prints one
  JSON line ``{"url": ...}``; the peer runners do this) and :class:`HttpProbe` (the server
  was told a port picked with :func:`free_port`; poll it until it answers).
- :func:`make_file` writes a file of random bytes and remembers its SHA-256;
  :func:`sha256_file` hashes a stored file for the comparison.

Only loopback addresses are used. Does I/O (processes, files, sockets); no tus knowledge.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

#: The only host the suite ever binds or connects to.
LOOPBACK = "127.0.0.1"
#: How long a server may take to become ready (Node and FastAPI start-up on a slow CI core).
START_TIMEOUT = 30.0
#: How long a server may take to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0
_BLOCK = 1 << 20


def free_port() -> int:
    """A TCP port on the loopback interface that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def serve_argv(port: int, *options: str) -> list[str]:
    """The command line of ``tus serve`` on ``port`` with ``options``, run by this Python."""
    return [sys.executable, "-m", "tuskit_cli", "serve", "--port", str(port), *options]


class ServerFailed(RuntimeError):
    """A server process exited early or never became ready; the message holds its output."""


@dataclass
class ServerProcess:
    """A server subprocess whose stdout and stderr go to files (a full pipe never blocks it)."""

    argv: Sequence[str]
    log_dir: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _starts: int = field(default=0, init=False)

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"server-{self._starts}.out"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"server-{self._starts}.err"

    def start(self) -> None:
        """Launch the process (again, after :meth:`kill` or :meth:`stop`)."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the server is already running")
        self._starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {})}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.cwd,
            )

    def output(self) -> str:
        """Everything the current run wrote so far, for error messages."""
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        """Raise :class:`ServerFailed` if the process has exited."""
        if self.process is None:
            raise ServerFailed("the server was never started")
        code = self.process.poll()
        if code is not None:
            raise ServerFailed(f"server {list(self.argv)!r} exited with {code}\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no cleanup runs in the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT`; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        return self.process.returncode


class ReadyCheck(Protocol):
    """Decides whether a started server is ready; returns its base URL once it is."""

    def __call__(self, server: ServerProcess) -> str | None: ...


@dataclass(frozen=True, slots=True)
class UrlLine:
    """Ready once stdout holds a JSON line with a ``url`` key (the server chose its port)."""

    key: str = "url"

    def __call__(self, server: ServerProcess) -> str | None:
        if not server.stdout_path.exists():
            return None
        for line in server.stdout_path.read_text(errors="replace").splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                value = json.loads(line).get(self.key)
            except json.JSONDecodeError:
                continue  # a line still being written
            if isinstance(value, str):
                return value
        return None


@dataclass(frozen=True, slots=True)
class HttpProbe:
    """Ready once ``url`` answers any HTTP status (the port was chosen by the caller)."""

    url: str
    method: str = "OPTIONS"

    def __call__(self, server: ServerProcess) -> str | None:
        request = urllib.request.Request(self.url, method=self.method)
        try:
            with urllib.request.urlopen(request, timeout=1.0):
                return self.url
        except urllib.error.HTTPError:
            return self.url  # it answered, so it is up
        except OSError:
            return None


def wait_ready(server: ServerProcess, ready: ReadyCheck, timeout: float = START_TIMEOUT) -> str:
    """Poll ``ready`` until it returns the URL; fail with the server's output otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        url = ready(server)
        if url is not None:
            return url
        if time.monotonic() > deadline:
            server.stop()
            raise ServerFailed(
                f"server {list(server.argv)!r} not ready after {timeout} s\n{server.output()}"
            )
        time.sleep(0.05)


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A ready server: its URL, and the process to kill or restart it in a test."""

    url: str
    server: ServerProcess
    ready: ReadyCheck

    def restart(self) -> str:
        """Start the process again (after a kill) and wait until it is ready; new URL."""
        self.server.start()
        return wait_ready(self.server, self.ready)


@contextlib.contextmanager
def running_server(
    argv: Sequence[str],
    *,
    ready: ReadyCheck,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[RunningServer]:
    """Run ``argv`` as a server until the block ends.

    On the way out the server is stopped; if it had died on its own during the block the
    failure is raised with its output, so a crash is never mistaken for a pass.
    """
    server = ServerProcess(argv, log_dir, env=env, cwd=cwd)
    server.start()
    try:
        url = wait_ready(server, ready)
        yield RunningServer(url, server, ready)
    finally:
        server.stop()


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file of random bytes written for a test, with the digest to compare against."""

    path: Path
    size: int
    sha256: str


def make_file(path: Path, size: int) -> SourceFile:
    """Write ``size`` random bytes to ``path`` (in 1 MiB blocks) and hash them on the way."""
    digest = hashlib.sha256()
    remaining = size
    with path.open("wb") as out:
        while remaining:
            block = os.urandom(min(remaining, _BLOCK))
            digest.update(block)
            out.write(block)
            remaining -= len(block)
    return SourceFile(path, size, digest.hexdigest())


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# Signatures of the conftest fixtures of the same names.


class StartServer(Protocol):
    def __call__(
        self,
        argv: Sequence[str],
        *,
        ready: ReadyCheck,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> RunningServer: ...


class MakeSource(Protocol):
    def __call__(self, size: int, name: str | None = None) -> SourceFile: ...
