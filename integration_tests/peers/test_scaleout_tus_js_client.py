"""tus-js-client uploads 64 MiB in 8 MiB chunks to two ``tus serve`` processes sharing one
bucket (moto's S3 server) and one redis-server, through a round-robin proxy that sends each
request to the next server: its PATCHes land on both, and the finished object is the source
byte for byte. (The tuskit client through the same setup: ``test_scaleout.py``.)
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from integration_tests.harness import MakeSource, StartServer
from integration_tests.peers.drivers import PeerClient, RunPeerClient
from integration_tests.redis_server import RedisServer
from integration_tests.s3 import MotoS3
from integration_tests.scaleout import (
    RoundRobinProxy,
    object_sha256,
    sha256_of_get,
    start_cluster,
)

pytestmark = pytest.mark.peers

MIB = 1 << 20


async def test_tus_js_client_through_a_round_robin_proxy(
    start_server: StartServer,
    moto_s3: MotoS3,
    redis_server: RedisServer,
    make_source: MakeSource,
    run_peer_client: RunPeerClient,
) -> None:
    cluster = start_cluster(start_server, moto_s3, redis_server)
    source = make_source(64 * MIB)
    async with RoundRobinProxy(cluster.urls) as proxy:
        job = {"endpoint": proxy.url, "file": str(source.path), "chunkSize": 8 * MIB}
        result = await run_peer_client(PeerClient.TUS_JS_CLIENT, job)
        assert result["ok"], result
        patches = [r for r in result["requests"] if r["method"] == "PATCH"]
        assert len(patches) == 8
        assert all(r["status"] == 204 for r in patches)
        assert proxy.sent[("PATCH", 0)] == proxy.sent[("PATCH", 1)] == 4
        async with aiohttp.ClientSession() as session:
            assert await sha256_of_get(session, result["url"]) == source.sha256
    key = cluster.key(result["url"])
    assert await asyncio.to_thread(object_sha256, moto_s3, cluster.bucket, key) == source.sha256
