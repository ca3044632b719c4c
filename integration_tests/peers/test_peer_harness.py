"""The harness proves itself: peer clients against peer servers, no tuskit involved.

If these fail, the interop results against tuskit mean nothing. They also pin down, with
evidence, the peer limitations the tuskit matrix explains (``integration_tests/README.md``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from integration_tests.harness import MakeSource, sha256_file
from integration_tests.peers.drivers import (
    PeerClient,
    PeerServer,
    PeerServerHandle,
    RunPeerClient,
    StartPeer,
)

pytestmark = pytest.mark.peers

MiB = 1024 * 1024
NON_ASCII = {"filename": "Zürich – 東京 ✓.bin", "note": "naïve café"}


def _node_info(server: PeerServerHandle, url: str) -> dict[str, Any]:
    """@tus/file-store's info file for the upload at ``url``."""
    info: dict[str, Any] = json.loads(server.stored(url).with_suffix(".json").read_text())
    return info


JS_CASES: dict[str, tuple[int, dict[str, Any]]] = {
    "small": (1000, {}),
    "empty": (0, {}),
    "multi-chunk": (3 * MiB + 17, {"chunkSize": MiB}),
    "data-during-creation": (2 * MiB, {"chunkSize": MiB, "uploadDataDuringCreation": True}),
    "deferred-length-stream": (
        2 * MiB + 5,
        {"chunkSize": MiB, "uploadLengthDeferred": True, "input": "stream"},
    ),
}


@pytest.mark.parametrize("case", list(JS_CASES))
async def test_tus_js_client_to_tus_node_server(
    case: str, start_peer: StartPeer, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    size, options = JS_CASES[case]
    server = start_peer(PeerServer.TUS_NODE_SERVER)
    source = make_source(size)
    metadata = {**NON_ASCII, "flag": ""}
    job = {"endpoint": server.url, "file": str(source.path), "metadata": metadata, **options}
    result = await run_peer_client(PeerClient.TUS_JS_CLIENT, job)
    assert result["ok"], result
    assert sha256_file(server.stored(result["url"])) == source.sha256
    info = _node_info(server, result["url"])
    # @tus/server decodes values as UTF-8; tus-js-client sends "" as `flag ` -> key-only.
    assert info["metadata"] == {**NON_ASCII, "flag": None}
    creation = result["requests"][0]
    assert creation["method"] == "POST"
    if options.get("uploadDataDuringCreation"):
        assert creation["headers"]["Content-Type"] == "application/offset+octet-stream"
    if options.get("uploadLengthDeferred"):
        assert creation["headers"]["Upload-Defer-Length"] == "1"
        assert "Upload-Length" in result["requests"][-1]["headers"]


async def test_tus_js_client_resumes_stored_url_on_tus_node_server(
    start_peer: StartPeer, run_peer_client: RunPeerClient, make_source: MakeSource, tmp_path: Any
) -> None:
    server = start_peer(PeerServer.TUS_NODE_SERVER)
    source = make_source(4 * MiB)
    job = {
        "endpoint": server.url,
        "file": str(source.path),
        "chunkSize": MiB,
        "abortAfterBytes": MiB,
        "urlStorage": str(tmp_path / "tus-js-urls.json"),
    }
    result = await run_peer_client(PeerClient.TUS_JS_CLIENT, job)
    assert result["ok"], result
    assert result["url"] == result["abortedUrl"]
    assert result["resume"][0]["method"] == "HEAD"
    assert all(r["method"] != "POST" for r in result["resume"])
    assert sha256_file(server.stored(result["url"])) == source.sha256


async def test_tus_node_server_has_no_concatenation_for_parallel_uploads(
    start_peer: StartPeer, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    """@tus/server's PostHandler answers 501 to any ``Upload-Concat`` (FileStore lacks it)."""
    server = start_peer(PeerServer.TUS_NODE_SERVER)
    source = make_source(MiB)
    job = {"endpoint": server.url, "file": str(source.path), "parallelUploads": 4}
    result = await run_peer_client(PeerClient.TUS_JS_CLIENT, job)
    assert not result["ok"]
    assert result["status"] == 501
    assert "Concatenation extension is not (yet) supported" in result["body"]


async def test_tuspy_with_checksums_to_aiohttp_tus(
    start_peer: StartPeer, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    """aiohttp-tus needs ``filename`` and stores the finished file under that name; it does
    not know checksums, so tuspy's sha1 ``Upload-Checksum`` headers are ignored."""
    server = start_peer(PeerServer.AIOHTTP_TUS)
    source = make_source(2 * MiB + 3)
    job = {
        "endpoint": server.url,
        "file": str(source.path),
        "metadata": {"filename": "stored.bin"},
        "chunk_size": 512 * 1024,  # below aiohttp's 1 MiB client_max_size
        "checksum": True,
    }
    result = await run_peer_client(PeerClient.TUSPY, job)
    assert result["ok"], result
    assert sha256_file(server.stored(result["url"], "stored.bin")) == source.sha256


async def test_tuspy_resumes_stored_url_on_aiohttp_tus(
    start_peer: StartPeer, run_peer_client: RunPeerClient, make_source: MakeSource, tmp_path: Any
) -> None:
    server = start_peer(PeerServer.AIOHTTP_TUS)
    source = make_source(2 * MiB)
    job = {
        "endpoint": server.url,
        "file": str(source.path),
        "metadata": {"filename": "resumed.bin"},
        "chunk_size": 512 * 1024,
        "abort_after_bytes": 1024 * 1024,
        "url_storage": str(tmp_path / "tuspy-urls.json"),
    }
    result = await run_peer_client(PeerClient.TUSPY, job)
    assert result["ok"], result
    assert result["url"] == result["aborted_url"]
    assert result["resumed_at_offset"] == 1024 * 1024
    assert sha256_file(server.stored(result["url"], "resumed.bin")) == source.sha256


async def test_aiotus_upload_multiple_to_tuspyserver(
    start_peer: StartPeer, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    server = start_peer(PeerServer.TUSPYSERVER)
    parts = [make_source(MiB + 1), make_source(3), make_source(2 * MiB)]
    job = {
        "endpoint": server.url,
        "files": [str(p.path) for p in parts],
        "metadata": {"filename": "joined.bin", "filetype": "application/octet-stream"},
        "chunk_size": MiB,
    }
    result = await run_peer_client(PeerClient.AIOTUS, job)
    assert result["ok"], result
    joined = b"".join(p.path.read_bytes() for p in parts)
    assert server.stored(result["url"]).read_bytes() == joined
