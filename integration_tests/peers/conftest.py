"""Fixtures for the interop tests: peer servers on free loopback ports, peer client runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integration_tests.harness import StartServer
from integration_tests.peers.drivers import (
    PeerClient,
    PeerMissing,
    PeerServer,
    PeerServerHandle,
    RunPeerClient,
    StartPeer,
    TuskitServerHandle,
    run_client,
    server_command,
    start_tuskit_server,
)


@pytest.fixture
def start_peer(start_server: StartServer, tmp_path: Path) -> StartPeer:
    """Start a peer server storing under ``tmp_path`` (``flags``: tusd's command-line flags);
    it is stopped when the test ends."""

    def start(peer: PeerServer, *flags: str) -> PeerServerHandle:
        directory = tmp_path / f"store-{peer.name.lower()}"
        directory.mkdir()
        try:
            command = server_command(peer, directory, flags)
        except PeerMissing as exc:
            pytest.fail(str(exc), pytrace=False)
        running = start_server(command.argv, ready=command.ready, cwd=command.cwd)
        return PeerServerHandle(peer, running.url, directory, running)

    return start


@pytest.fixture
def tuskit_server(start_server: StartServer, tmp_path: Path) -> TuskitServerHandle:
    """tuskit-server (its default FileStore) in a subprocess on a free loopback port."""
    return start_tuskit_server(start_server, tmp_path / "store-tuskit")


@pytest.fixture
def run_peer_client(tmp_path: Path) -> RunPeerClient:
    """Run one job with a peer client in a subprocess; its JSON result."""

    async def run(peer: PeerClient, job: dict[str, Any]) -> dict[str, Any]:
        try:
            return await run_client(peer, job, tmp_path / "jobs")
        except PeerMissing as exc:
            pytest.fail(str(exc), pytrace=False)

    return run
