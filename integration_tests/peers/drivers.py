"""Start the peer servers and drive the peer clients from the interop tests.

The peers are the official tus implementations, installed by the ``interop`` nox session:

- npm (``package.json`` / ``package-lock.json`` here, installed with ``npm ci --prefix`` into
  the session's cache folder, whose path arrives in :data:`NODE_PREFIX_ENV`): @tus/server with
  @tus/file-store (server), tus-js-client (client);
- PyPI (pinned in ``noxfile.py``): aiohttp-tus and tuspyserver (servers), tuspy and aiotus
  (clients);
- Go: tusd (server), built from source by the session with ``go install``; its path arrives
  in :data:`TUSD_ENV`.

Each server runs as a subprocess on a free loopback port: the Node and Python runners bind
port 0 and print their URL, tusd is told a port from :func:`free_port` and probed over HTTP.
Each client runs one job (a JSON file) in a subprocess and prints one JSON result. A missing
``node``, tusd or an uninstalled peer fails the test with a message saying what to run; it
never skips.
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from integration_tests.harness import (
    LOOPBACK,
    HttpProbe,
    ReadyCheck,
    RunningServer,
    StartServer,
    UrlLine,
    free_port,
)
from integration_tests.test_cli_e2e import tus
from tuskit_common import Resource
from tuskit_server import FileStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: Environment variable holding the npm prefix the interop session installed into.
NODE_PREFIX_ENV = "TUSKIT_INTEROP_NODE_PREFIX"
#: Environment variable holding the path of the tusd binary the interop session built.
TUSD_ENV = "TUSKIT_INTEROP_TUSD"
#: tusd's creation URL path (``-base-path``); its default, and where it answers OPTIONS.
TUSD_BASE_PATH = "/files/"
#: A peer client job may take this long (the 64 MiB cases on a slow CI core included).
CLIENT_TIMEOUT = 240.0


class PeerMissing(RuntimeError):
    """A peer or its runtime is not installed; the message says how to get it."""


class PeerServer(enum.StrEnum):
    TUS_NODE_SERVER = "@tus/server"
    AIOHTTP_TUS = "aiohttp-tus"
    TUSPYSERVER = "tuspyserver"
    TUSD = "tusd"


class PeerClient(enum.StrEnum):
    TUS_JS_CLIENT = "tus-js-client"
    TUSPY = "tuspy"
    AIOTUS = "aiotus"


def node() -> str:
    """The ``node`` executable, or :class:`PeerMissing` saying it is needed."""
    path = shutil.which("node")
    if path is None:
        raise PeerMissing(
            "`node` is not on PATH: the interop suite runs @tus/server and tus-js-client under "
            "Node.js >= 20.19; install Node.js and npm, then run `nox -s interop`"
        )
    return path


def node_prefix() -> Path:
    """The npm prefix holding the pinned Node peers, checked to be installed."""
    value = os.environ.get(NODE_PREFIX_ENV)
    if not value:
        raise PeerMissing(
            f"{NODE_PREFIX_ENV} is not set: the Node peers are installed by `nox -s interop` "
            "(npm ci --prefix <session cache>); run the interop tests through that session"
        )
    prefix = Path(value)
    for package in ("@tus/server", "@tus/file-store", "@tus/s3-store", "tus-js-client"):
        if not (prefix / "node_modules" / package / "package.json").is_file():
            raise PeerMissing(f"{package} is not installed under {prefix}; rerun `nox -s interop`")
    return prefix


def tusd() -> str:
    """The tusd binary named by :data:`TUSD_ENV`, or :class:`PeerMissing` saying how to build it."""
    value = os.environ.get(TUSD_ENV)
    if not value:
        raise PeerMissing(
            f"{TUSD_ENV} is not set: tusd is built by `nox -s interop` (go install "
            "github.com/tus/tusd/v2/cmd/tusd into nox's cache); run the interop tests through "
            "that session"
        )
    if not os.access(value, os.X_OK):
        raise PeerMissing(f"{TUSD_ENV}={value} is not an executable tusd; rerun `nox -s interop`")
    return value


def check_python_peer(module: str) -> None:
    """Fail with :class:`PeerMissing` unless ``module`` imports in this interpreter."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise PeerMissing(
            f"the Python peer {module!r} is not installed; the `interop` nox session installs "
            "the pinned peers (see noxfile.py)"
        )


@dataclass(frozen=True, slots=True)
class ServerCommand:
    """How to start one peer server: the command line and its readiness check."""

    argv: list[str]
    ready: ReadyCheck
    #: The Python runners are modules of this repository (``-m integration_tests.peers...``).
    cwd: Path = ROOT


def server_command(peer: PeerServer, directory: Path, flags: Sequence[str] = ()) -> ServerCommand:
    """The command line that starts ``peer`` storing into ``directory``; ``flags`` go to
    tusd (``-enable-experimental-protocol`` turns its IETF draft support on)."""
    if peer is PeerServer.TUS_NODE_SERVER:
        script = HERE / "tus_node_server.mjs"
        argv = [node(), str(script), "--modules", str(node_prefix()), "--dir", str(directory)]
        return ServerCommand(argv, UrlLine())
    if peer is PeerServer.TUSD:
        port = free_port()
        argv = [tusd(), "-host", LOOPBACK, "-port", str(port), "-base-path", TUSD_BASE_PATH]
        argv += ["-upload-dir", str(directory), *flags]
        return ServerCommand(argv, HttpProbe(f"http://{LOOPBACK}:{port}{TUSD_BASE_PATH}"))
    module = {PeerServer.AIOHTTP_TUS: "aiohttp_tus", PeerServer.TUSPYSERVER: "tuspyserver"}[peer]
    check_python_peer(module)
    argv = [sys.executable, "-m", "integration_tests.peers.pyservers", str(peer)]
    argv += ["--dir", str(directory)]
    return ServerCommand(argv, UrlLine())


def stored_path(peer: PeerServer, directory: Path, url: str, filename: str | None) -> Path:
    """Where ``peer`` keeps the bytes of the finished upload at ``url``.

    aiohttp-tus moves a finished upload to ``<dir>/<filename metadata>``; @tus/file-store,
    tuspyserver and tusd's filestore keep it at ``<dir>/<upload id>``.
    """
    if peer is PeerServer.AIOHTTP_TUS:
        if filename is None:
            raise ValueError("aiohttp-tus names the stored file after the filename metadata")
        return directory / filename
    return directory / url.rstrip("/").rsplit("/", 1)[-1]


def _write_job(peer: PeerClient, job: dict[str, Any], work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"job-{peer.name.lower()}-{len(list(work.glob('job-*')))}.json"
    path.write_text(json.dumps(job))
    return path


async def run_tus(*args: str) -> tuple[int, str, str]:
    """Run the ``tus`` command line as a user would (``python -m tuskit_cli``); its exit
    status, stdout and stderr (the same runner as the end-to-end CLI tests, with room for a
    slower peer server)."""
    return await tus(*args, wait=120)


async def run_client(peer: PeerClient, job: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one upload job with ``peer`` in a subprocess and return its JSON result."""
    job_path = _write_job(peer, job, work)
    if peer is PeerClient.TUS_JS_CLIENT:
        script = HERE / "tus_js_client.mjs"
        argv = [node(), str(script), "--modules", str(node_prefix()), str(job_path)]
    else:
        check_python_peer("tusclient" if peer is PeerClient.TUSPY else "aiotus")
        argv = [sys.executable, "-m", "integration_tests.peers.pyclients", str(peer), str(job_path)]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), CLIENT_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{peer} did not finish job {job} in {CLIENT_TIMEOUT} s") from None
    lines = stdout.decode(errors="replace").strip().splitlines()
    if process.returncode != 0 or not lines:
        raise AssertionError(
            f"{peer} crashed (exit {process.returncode}) on job {job}\n"
            f"stdout: {stdout.decode(errors='replace')}\nstderr: {stderr.decode(errors='replace')}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    result["stderr"] = stderr.decode(errors="replace")
    return result


# What the fixtures of peers/conftest.py hand to the tests.


@dataclass(frozen=True, slots=True)
class PeerServerHandle:
    """A running peer server: its creation URL and the directory it stores into."""

    peer: PeerServer
    url: str
    directory: Path
    running: RunningServer

    def stored(self, upload_url: str, filename: str | None = None) -> Path:
        """The file holding the bytes of the finished upload at ``upload_url``."""
        return stored_path(self.peer, self.directory, upload_url, filename)


@dataclass(frozen=True, slots=True)
class TuskitServerHandle:
    """tuskit-server running as ``python -m tuskit_server``: creation URL and store folder."""

    url: str
    directory: Path
    running: RunningServer

    def upload_id(self, upload_url: str) -> str:
        return upload_url.rstrip("/").rsplit("/", 1)[-1]

    def data(self, upload_url: str) -> Path:
        """The FileStore's data file of an upload (``<dir>/<id>``)."""
        return self.directory / self.upload_id(upload_url)

    async def info(self, upload_url: str) -> Resource:
        """The upload as the server's FileStore reads it from ``<dir>`` (its offset is the
        data file's size; the info file records the offset of its last write only)."""
        return await FileStore(self.directory).get(self.upload_id(upload_url))


def start_tuskit_server(
    start_server: StartServer, directory: Path, *flags: str
) -> TuskitServerHandle:
    """Start ``python -m tuskit_server`` (FileStore in ``directory``, ``flags`` added) on a
    free loopback port under ``/uploads``; ``start_server`` stops it when the test ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/uploads"
    argv = [sys.executable, "-m", "tuskit_server", "--storage", str(directory), "--port", str(port)]
    argv += ["--base-path", "/uploads", *flags]
    running = start_server(argv, ready=HttpProbe(url))
    return TuskitServerHandle(url, directory, running)


class StartPeer(Protocol):
    def __call__(self, peer: PeerServer, *flags: str) -> PeerServerHandle: ...


class RunPeerClient(Protocol):
    async def __call__(self, peer: PeerClient, job: dict[str, Any]) -> dict[str, Any]: ...
