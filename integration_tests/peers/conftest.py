"""Fixtures for the interop tests: peer servers on free loopback ports, peer client runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from integration_tests.harness import RunningServer, StartServer
from integration_tests.peers.drivers import (
    PeerClient,
    PeerMissing,
    PeerServer,
    run_client,
    server_command,
    stored_path,
)


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
def run_peer_client(tmp_path: Path) -> RunPeerClient:
    """Run one job with a peer client in a subprocess; its JSON result."""

    async def run(peer: PeerClient, job: dict[str, Any]) -> dict[str, Any]:
        try:
            return await run_client(peer, job, tmp_path / "jobs")
        except PeerMissing as exc:
            pytest.fail(str(exc), pytrace=False)

    return run
