"""Peer clients to tuskit-server through the fault proxy: real clients recover from a broken
connection, and tuskit-server keeps the bytes that arrived before the break.

tus-js-client and aiotus reuse one keep-alive connection, so a fault injected for the first
connection hits their first requests: a cut after N upstream bytes lands inside the PATCH
body, a reset after N response bytes inside a response.
"""

from __future__ import annotations

from typing import Any

import pytest

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.harness import MakeSource, sha256_file
from integration_tests.peers.drivers import PeerClient, RunPeerClient, TuskitServerHandle

pytestmark = pytest.mark.peers

MiB = 1024 * 1024


async def test_tus_js_client_resumes_after_a_cut_mid_patch(
    tuskit_server: TuskitServerHandle, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    source = make_source(6 * MiB)
    async with FaultProxy(tuskit_server.url) as proxy:
        proxy.inject(Fault(cut_upstream_after=2 * MiB))  # the POST is small: this is the PATCH
        job: dict[str, Any] = {
            "endpoint": proxy.url,
            "file": str(source.path),
            "retryDelays": [0, 200, 500],
        }
        result = await run_peer_client(PeerClient.TUS_JS_CLIENT, job)
    assert result["ok"], result
    assert proxy.pending_faults == 0
    assert sha256_file(tuskit_server.data(result["url"])) == source.sha256
    patches = [r for r in result["requests"] if r["method"] == "PATCH"]
    assert [p["status"] for p in patches][-1] == 204
    # The retry resumed where tuskit-server had stopped: it kept what arrived before the cut.
    resumed_at = int(patches[-1]["headers"]["Upload-Offset"])
    assert 0 < resumed_at <= 2 * MiB
    assert "HEAD" in [r["method"] for r in result["requests"]]


async def test_tus_js_client_recovers_from_a_reset_in_a_response(
    tuskit_server: TuskitServerHandle, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    source = make_source(3 * MiB)
    async with FaultProxy(tuskit_server.url) as proxy:
        # The 201 to the POST is a few hundred bytes; the PATCH's 204 follows it on the same
        # connection: reset inside that second response.
        proxy.inject(Fault(reset_downstream_after=400))
        job: dict[str, Any] = {
            "endpoint": proxy.url,
            "file": str(source.path),
            "chunkSize": MiB,
            "retryDelays": [0, 200, 500],
        }
        result = await run_peer_client(PeerClient.TUS_JS_CLIENT, job)
    assert result["ok"], result
    assert proxy.pending_faults == 0
    assert sha256_file(tuskit_server.data(result["url"])) == source.sha256
    # The first PATCH never got its answer; tus-js-client asked with HEAD and went on.
    seen = [(r["method"], r["status"]) for r in result["requests"]]
    assert seen[:3] == [("POST", 201), ("PATCH", None), ("HEAD", 200)]
    info = await tuskit_server.info(result["url"])
    assert (info.offset, info.length) == (source.size, source.size)


async def test_aiotus_retries_after_a_cut_mid_patch(
    tuskit_server: TuskitServerHandle, run_peer_client: RunPeerClient, make_source: MakeSource
) -> None:
    source = make_source(6 * MiB)
    async with FaultProxy(tuskit_server.url) as proxy:
        proxy.inject(Fault(cut_upstream_after=3 * MiB))
        job = {"endpoint": proxy.url, "file": str(source.path), "retry_attempts": 4}
        result = await run_peer_client(PeerClient.AIOTUS, job)
    assert result["ok"], result
    assert proxy.pending_faults == 0
    assert proxy.connections >= 2  # the retry needed a new connection
    assert sha256_file(tuskit_server.data(result["url"])) == source.sha256
