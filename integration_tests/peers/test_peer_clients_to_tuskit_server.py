"""Matrix, direction 1: every peer client uploads to tuskit-server.

tuskit-server runs as ``python -m tuskit_server`` (its default FileStore) on a free loopback
port. Every case checks the stored bytes by SHA-256 against the source, the stored length and
offset, the decoded metadata exactly, and that HEAD echoes the ``Upload-Metadata`` header
byte for byte as it was received.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_tests.harness import MakeSource, sha256_file
from integration_tests.peers.client_cases import CASES, EXPECTED, MiB, head, job_for
from integration_tests.peers.drivers import PeerClient, RunPeerClient, TuskitServerHandle

pytestmark = pytest.mark.peers


@pytest.mark.parametrize("name", list(CASES))
async def test_peer_client_to_tuskit_server(
    name: str,
    tuskit_server: TuskitServerHandle,
    run_peer_client: RunPeerClient,
    make_source: MakeSource,
    tmp_path: Path,
) -> None:
    case = CASES[name]
    sources = [make_source(size) for size in (case.parts or (case.size,))]
    job = job_for(case, tuskit_server.url, [s.path for s in sources], tmp_path)

    result = await run_peer_client(case.peer, job)

    assert result["ok"], result
    url = result["url"]
    info = await tuskit_server.info(url)
    total = sum(s.size for s in sources)
    assert (info.offset, info.length) == (total, total)
    if case.parts:
        joined = b"".join(s.path.read_bytes() for s in sources)
        assert tuskit_server.data(url).read_bytes() == joined
        assert info.is_final
        assert len(info.partial_ids) == len(case.parts)
    else:
        assert sha256_file(tuskit_server.data(url)) == sources[0].sha256
    assert info.metadata == EXPECTED
    status, headers = await head(url)
    assert status in (200, 204)
    assert headers["Upload-Offset"] == str(total)
    assert headers["Upload-Metadata"] == info.metadata_header

    requests = result.get("requests", [])
    if case.options.get("parallelUploads"):
        concat = [r["headers"].get("Upload-Concat", "") for r in requests if r["method"] == "POST"]
        assert concat.count("partial") == case.options["parallelUploads"]
        assert concat[-1].startswith("final;")
        assert info.is_final
        assert len(info.partial_ids) == case.options["parallelUploads"]
    if case.options.get("uploadLengthDeferred"):
        assert requests[0]["headers"]["Upload-Defer-Length"] == "1"
        assert requests[-1]["headers"]["Upload-Length"] == str(total)
    if case.options.get("uploadDataDuringCreation"):
        assert requests[0]["headers"]["Content-Type"] == "application/offset+octet-stream"
        assert sum(r["method"] == "PATCH" for r in requests) == 2  # 3 chunks, 1 in the POST
    if "abortAfterBytes" in case.options:
        assert url == result["abortedUrl"]
        assert [r["method"] for r in result["resume"]][:1] == ["HEAD"]
        assert all(r["method"] != "POST" for r in result["resume"])
    if "abort_after_bytes" in case.options:
        assert url == result["aborted_url"]
        assert result["resumed_at_offset"] == case.options["abort_after_bytes"]


async def test_tus_js_client_deferred_length_on_a_chunk_boundary_never_finishes(
    tuskit_server: TuskitServerHandle, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    """n.a. (tus-js-client#779): with ``uploadLengthDeferred`` and a stream whose size is a
    multiple of ``chunkSize``, tus-js-client 4.3.1 sends the full chunks and then nothing: no
    ``Upload-Length``, not even the 0-byte PATCH that would declare it. Left alone, Node just
    exits with the upload promise unsettled; the runner's timeout reports it. tuskit-server
    kept every byte and still reports the length as deferred."""
    source = make_source(2 * MiB)
    job = {
        "endpoint": tuskit_server.url,
        "file": str(source.path),
        "chunkSize": MiB,
        "uploadLengthDeferred": True,
        "input": "stream",
        "timeoutMs": 4000,
    }
    result = await run_peer_client(PeerClient.TUS_JS_CLIENT, job)
    assert (result["ok"], result["error"]) == (False, "timeout")
    requests = result["requests"]
    assert [r["method"] for r in requests] == ["POST", "PATCH", "PATCH"]
    assert all("Upload-Length" not in r["headers"] for r in requests)
    upload_url = requests[1]["url"]
    status, headers = await head(upload_url)
    assert status in (200, 204)
    assert headers["Upload-Offset"] == str(2 * MiB)
    assert headers["Upload-Defer-Length"] == "1"
