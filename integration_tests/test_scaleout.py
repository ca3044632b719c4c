"""Two ``tus serve`` processes sharing one bucket (moto's S3 server) and one redis-server are
interchangeable: requests alternated between them by a round-robin proxy, a PATCH whose
server is killed mid-body resumed on the other, a stale PATCH on one interrupted by a HEAD
on the other, and concatenation whose partials went to different servers all end in an
object byte-identical to the source. (tus-js-client through the same proxy:
``peers/test_scaleout_tus_js_client.py``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator

import aiohttp

from integration_tests.harness import MakeSource, StartServer
from integration_tests.redis_server import RedisServer
from integration_tests.s3 import MotoS3
from integration_tests.scaleout import (
    MIB,
    OCTETS,
    RoundRobinProxy,
    V,
    object_sha256,
    resume_on,
    sha256_of_get,
    start_cluster,
)
from integration_tests.tus_requests import interrupted_by_a_head
from tuskit_client import Client


async def test_the_tuskit_client_through_a_round_robin_proxy(
    start_server: StartServer, moto_s3: MotoS3, redis_server: RedisServer, make_source: MakeSource
) -> None:
    cluster = start_cluster(start_server, moto_s3, redis_server)
    source = make_source(64 * MIB)
    async with (
        RoundRobinProxy(cluster.urls) as proxy,
        Client(proxy.url, chunk_size=8 * MIB) as client,
        aiohttp.ClientSession() as session,
    ):
        result = await client.upload(source.path)
        assert (result.offset, result.length) == (64 * MIB, 64 * MIB)
        assert str(result.url).startswith(proxy.url)
        assert proxy.sent[("PATCH", 0)] >= 3
        assert proxy.sent[("PATCH", 1)] >= 3
        assert await sha256_of_get(session, str(result.url)) == source.sha256
    key = cluster.key(str(result.url))
    assert await asyncio.to_thread(object_sha256, moto_s3, cluster.bucket, key) == source.sha256


async def test_partials_on_different_servers_concatenate(
    start_server: StartServer, moto_s3: MotoS3, redis_server: RedisServer, make_source: MakeSource
) -> None:
    cluster = start_cluster(start_server, moto_s3, redis_server)
    first, second = cluster.urls
    source = make_source(12 * MIB)
    async with (
        RoundRobinProxy(cluster.urls) as proxy,
        Client(proxy.url, chunk_size=4 * MIB) as client,
        aiohttp.ClientSession() as session,
    ):
        result = await client.upload(source.path, parallel=2)
        assert len(result.parts) == 2
        assert sorted(proxy.partials_to) == [0, 1]  # one partial created on each server
        assert await sha256_of_get(session, str(result.url)) == source.sha256

        # concatenation-unfinished: the final created on one server before its partials,
        # which are finished through the other
        partials = []
        for data in (b"left-", b"right"):
            headers = {**V, "Upload-Concat": "partial", "Upload-Length": str(len(data))}
            async with session.post(second, headers=headers) as created:
                assert created.status == 201
                partials.append((created.headers["Location"].rsplit("/", 1)[1], data))
        concat = "final;" + " ".join(f"/files/{upload}" for upload, _ in partials)
        async with session.post(first, headers={**V, "Upload-Concat": concat}) as created:
            assert created.status == 201
            final = created.headers["Location"].rsplit("/", 1)[1]
        async with session.head(first + final, headers=V) as head:
            assert head.status == 200
            assert "Upload-Offset" not in head.headers  # not concatenated yet
        for upload, data in partials:
            patch = {**OCTETS, "Upload-Offset": "0"}
            async with session.patch(second + upload, headers=patch, data=data) as patched:
                assert patched.status == 204
        async with session.head(first + final, headers=V) as head:
            assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "10"
        async with session.get(second + final) as got:
            assert await got.read() == b"left-right"


async def _body(first: bytes, then: asyncio.Event) -> AsyncIterator[bytes]:
    """``first`` in 1 MiB pieces, then nothing until ``then`` is set."""
    for start in range(0, len(first), MIB):
        yield first[start : start + MIB]
    await then.wait()
    yield b"never-sent"


async def test_a_server_killed_mid_patch_the_client_resumes_on_the_other(
    start_server: StartServer, moto_s3: MotoS3, redis_server: RedisServer, make_source: MakeSource
) -> None:
    cluster = start_cluster(start_server, moto_s3, redis_server)
    (first, second), (victim, _) = cluster.urls, cluster.instances
    source = make_source(24 * MIB)
    data = source.path.read_bytes()
    never = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        headers = {**V, "Upload-Length": str(len(data))}
        async with session.post(first, headers=headers) as created:
            upload = created.headers["Location"].rsplit("/", 1)[1]
        body = _body(data[: 12 * MIB], never)
        patch = asyncio.create_task(
            session.patch(first + upload, headers={**OCTETS, "Upload-Offset": "0"}, data=body)
        )
        await moto_s3.wait_for_part(cluster.bucket)
        assert not patch.done()
        victim.server.kill()  # SIGKILL while the PATCH body is still arriving
        with contextlib.suppress(aiohttp.ClientError):
            (await patch).release()
        async with session.head(second + upload, headers=V) as head:
            assert head.status == 200
            held = int(head.headers["Upload-Offset"])
        assert 0 < held <= 12 * MIB  # what S3 holds, whole parts only
    await resume_on(cluster, second + upload, source, chunk_size=8 * MIB)


async def test_a_head_on_one_server_interrupts_a_stale_patch_on_the_other(
    start_server: StartServer, moto_s3: MotoS3, redis_server: RedisServer
) -> None:
    cluster = start_cluster(start_server, moto_s3, redis_server)
    first, second = cluster.urls
    gate = asyncio.Event()
    tail = os.urandom(90)
    async with aiohttp.ClientSession() as session:
        async with session.post(first, headers={**V, "Upload-Length": "100"}) as created:
            upload = created.headers["Location"].rsplit("/", 1)[1]
        patching = {**OCTETS, "Upload-Offset": "0"}
        body = _body(b"a" * 10, gate)
        interrupted = await interrupted_by_a_head(
            session, first + upload, second + upload, patching, body, V
        )
        interrupted.release()
        gate.set()
        resume = {**OCTETS, "Upload-Offset": "10"}
        async with session.patch(second + upload, headers=resume, data=tail) as resumed:
            assert resumed.status == 204
            assert resumed.headers["Upload-Offset"] == "100"
    expected = hashlib.sha256(b"a" * 10 + tail).hexdigest()
    key = cluster.key(upload)
    assert await asyncio.to_thread(object_sha256, moto_s3, cluster.bucket, key) == expected
