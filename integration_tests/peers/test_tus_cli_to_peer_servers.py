"""Matrix, direction 2 for the command line: ``tus upload`` to every peer server.

The CLI runs as a subprocess (``python -m tuskit_cli``), as a user would run it; the stored
bytes are compared by SHA-256 and the exit status and streams are checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_tests.harness import MakeSource, sha256_file
from integration_tests.peers.drivers import PeerServer, StartPeer, run_tus

pytestmark = pytest.mark.peers

MiB = 1024 * 1024
FILENAME = "Zürich – 東京 ✓.bin"


def _options(peer: PeerServer, store: Path) -> list[str]:
    options = ["-q", "--store", str(store), "--retries", "0", "-m", f"filename={FILENAME}"]
    if peer is PeerServer.TUSPYSERVER:
        options += ["-m", "filetype=application/octet-stream"]  # its HEAD needs both
    # aiohttp-tus reads each PATCH whole under aiohttp's 1 MiB client_max_size.
    return [*options, "--chunk-size", "512KiB"]


@pytest.mark.parametrize("parallel", [1, 4])
@pytest.mark.parametrize("peer", list(PeerServer), ids=str)
async def test_tus_upload(
    peer: PeerServer, parallel: int, start_peer: StartPeer, make_source: MakeSource, tmp_path: Path
) -> None:
    server = start_peer(peer)
    source = make_source(3 * MiB + 1)
    options = _options(peer, tmp_path / "store.json")
    code, out, err = await run_tus(
        "upload", *options, "--parallel", str(parallel), server.url, str(source.path)
    )
    assert code == 0, err
    url = out.strip()
    assert url.startswith(f"http://127.0.0.1:{server.url.split(':')[2].split('/')[0]}/")
    # Without concatenation (@tus/server, aiohttp-tus) --parallel falls back to one upload.
    assert sha256_file(server.stored(url, FILENAME)) == source.sha256


@pytest.mark.parametrize("peer", list(PeerServer), ids=str)
async def test_tus_upload_checksum_is_refused_cleanly(
    peer: PeerServer, start_peer: StartPeer, make_source: MakeSource, tmp_path: Path
) -> None:
    """No peer server offers the checksum extension: exit 1 with one readable line."""
    server = start_peer(peer)
    source = make_source(1000)
    options = _options(peer, tmp_path / "store.json")
    code, out, err = await run_tus(
        "upload", *options, "--checksum", "sha256", server.url, str(source.path)
    )
    assert code == 1
    assert out == ""
    assert "checksum" in err
    assert "Traceback" not in err
