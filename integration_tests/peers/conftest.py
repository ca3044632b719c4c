"""Fixtures for the interop tests: peer servers on free loopback ports, peer client runs."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from integration_tests.harness import HttpProbe, RunningServer, StartServer, free_port
from integration_tests.peers.drivers import (
    PeerClient,
    PeerMissing,
    PeerServer,
    run_client,
    server_command,
    stored_path,
)
from tuskit_common import Resource


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

    def info(self, upload_url: str) -> Resource:
        """The FileStore's info file of an upload (``<dir>/<id>.info``)."""
        path = self.directory / f"{self.upload_id(upload_url)}.info"
        return Resource.model_validate_json(path.read_text())


class StartPeer(Protocol):
    def __call__(self, peer: PeerServer) -> PeerServerHandle: ...


class RunPeerClient(Protocol):
    async def __call__(self, peer: PeerClient, job: dict[str, Any]) -> dict[str, Any]: ...


@pytest.fixture
def start_peer(start_server: StartServer, tmp_path: Path) -> StartPeer:
    """Start a peer server storing under ``tmp_path``; it is stopped when the test ends."""

    def start(peer: PeerServer) -> PeerServerHandle:
        directory = tmp_path / f"store-{peer.name.lower()}"
        directory.mkdir()
        try:
            command = server_command(peer, directory)
        except PeerMissing as exc:
            pytest.fail(str(exc), pytrace=False)
        running = start_server(command.argv, ready=command.ready)
        return PeerServerHandle(peer, running.url, directory, running)

    return start


@pytest.fixture
def tuskit_server(start_server: StartServer, tmp_path: Path) -> TuskitServerHandle:
    """tuskit-server (its default FileStore) in a subprocess on a free loopback port."""
    directory = tmp_path / "store-tuskit"
    port = free_port()
    url = f"http://127.0.0.1:{port}/uploads"
    argv = [sys.executable, "-m", "tuskit_server", "--dir", str(directory), "--port", str(port)]
    running = start_server(argv, ready=HttpProbe(url))
    return TuskitServerHandle(url, directory, running)


@pytest.fixture
def run_peer_client(tmp_path: Path) -> RunPeerClient:
    """Run one job with a peer client in a subprocess; its JSON result."""

    async def run(peer: PeerClient, job: dict[str, Any]) -> dict[str, Any]:
        try:
            return await run_client(peer, job, tmp_path / "jobs")
        except PeerMissing as exc:
            pytest.fail(str(exc), pytrace=False)

    return run
