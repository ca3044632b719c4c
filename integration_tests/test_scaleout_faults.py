"""Two ``tus serve`` processes on one bucket and one Redis when things go wrong or run
unattended: both expiry sweepers at once, Redis restarted mid-upload (503 while it is away,
then the upload completes byte-identical), readiness following S3 and Redis, and the
start-up checks of ``--store s3://`` (one line, exit 2 or 1, before the port opens), with
``--workers`` too.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from pathlib import Path

import aiohttp
import pytest

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.harness import LOOPBACK, MakeSource, StartServer, free_port
from integration_tests.redis_server import RedisServer
from integration_tests.s3 import MotoS3
from integration_tests.scaleout import (
    MIB,
    OCTETS,
    V,
    object_sha256,
    resume_on,
    server_environment,
    start_cluster,
    wait_for,
)
from integration_tests.test_serve_operator import one_error_line, run, serving
from tuskit_client import Client


async def _create(session: aiohttp.ClientSession, url: str, length: int) -> str:
    async with session.post(url, headers={**V, "Upload-Length": str(length)}) as created:
        assert created.status == 201, await created.text()
        return created.headers["Location"].rsplit("/", 1)[-1]


async def _patch(session: aiohttp.ClientSession, url: str, offset: int, data: bytes) -> int:
    headers = {**OCTETS, "Upload-Offset": str(offset)}
    async with session.patch(url, headers=headers, data=io.BytesIO(data)) as patched:
        return patched.status


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.head(url, headers=V) as head:
        return head.status


async def test_both_sweepers_at_once_spare_live_uploads_and_each_other(
    start_server: StartServer, moto_s3: MotoS3, redis_server: RedisServer
) -> None:
    sweeping = ("--expire-after", "3s", "--expire-interval", "1s", "--verbose")
    cluster = start_cluster(start_server, moto_s3, redis_server, *sweeping)
    urls = cluster.urls
    async with aiohttp.ClientSession() as session:
        idle = []
        for index in range(6):  # half created through each server, each with a byte sent
            url = urls[index % 2]
            upload = await _create(session, url, 10)
            assert await _patch(session, url + upload, 0, b"x") == 204
            idle.append(upload)
        live = await _create(session, urls[0], 24)
        for offset in range(12):  # one byte every 0.5 s through alternating servers: 6 s
            status = await _patch(session, urls[offset % 2] + live, offset, bytes([65 + offset]))
            assert status == 204, f"the live upload answered {status} at offset {offset}"
            await asyncio.sleep(0.5)

        async def all_expired() -> bool:
            gone = [await _status(session, url + u) for u in idle for url in urls]
            return all(status == 410 for status in gone)

        await wait_for(all_expired)
        tail = bytes(range(97, 109))
        assert await _patch(session, urls[1] + live, 12, tail) == 204
    expected = hashlib.sha256(bytes(range(65, 77)) + tail).hexdigest()
    key = cluster.key(live)
    assert await asyncio.to_thread(object_sha256, moto_s3, cluster.bucket, key) == expected
    outputs = [instance.server.output() for instance in cluster.instances]
    assert any(" expired" in output for output in outputs)  # --verbose logs each expiry
    for output in outputs:
        assert "expiration sweep failed" not in output
        assert "Traceback" not in output


async def test_redis_restarted_mid_upload(
    start_server: StartServer, moto_s3: MotoS3, redis_server: RedisServer, make_source: MakeSource
) -> None:
    cluster = start_cluster(start_server, moto_s3, redis_server)
    first, second = cluster.urls
    source = make_source(16 * MIB)
    data = source.path.read_bytes()
    async with aiohttp.ClientSession() as session:
        upload = await _create(session, first, len(data))
        assert await _patch(session, first + upload, 0, data[: 6 * MIB]) == 204
        redis_server.stop()
        for url in (first, second):
            async with session.patch(
                url + upload, headers={**OCTETS, "Upload-Offset": str(6 * MIB)}, data=b"y"
            ) as refused:
                assert refused.status == 503
                assert len((await refused.text()).strip().splitlines()) == 1
            async with session.get(url.replace("/files/", "/readyz")) as ready:
                assert ready.status == 503
        redis_server.start()

        async def both_ready() -> bool:
            statuses = []
            for url in (first, second):
                async with session.get(url.replace("/files/", "/readyz")) as ready:
                    statuses.append(ready.status)
            return statuses == [200, 200]

        await wait_for(both_ready)
    await resume_on(cluster, second + upload, source, chunk_size=4 * MIB)


async def test_readiness_follows_s3(
    start_server: StartServer, moto_s3: MotoS3, redis_server: RedisServer
) -> None:
    async with FaultProxy(moto_s3.url) as proxy:
        # in a thread: the proxy answers on this loop while the server checks the bucket
        cluster = await asyncio.to_thread(
            start_cluster, start_server, moto_s3, redis_server, count=1, s3_url=proxy.url
        )
        ready = cluster.urls[0].replace("/files/", "/readyz")
        async with aiohttp.ClientSession() as session:
            async with session.get(ready) as answer:
                assert answer.status == 200
            proxy.break_all(Fault(answer_status=503))
            async with session.get(ready) as answer:
                assert answer.status == 503
                assert (await answer.text()).startswith("not ready: ")
            proxy.break_all(None)
            async with session.get(ready) as answer:
                assert answer.status == 200


async def test_workers_serve_one_bucket_and_keep_concatenation_unfinished(
    moto_s3: MotoS3, redis_server: RedisServer, make_source: MakeSource
) -> None:
    bucket = moto_s3.new_bucket()
    args = ["--store", f"s3://{bucket}/w", "--s3-endpoint", moto_s3.url, "--workers", "2"]
    args += ["--locker", redis_server.url, "--port", "0", "--no-access-log"]
    source = make_source(7 * MIB)
    async with serving(*args, env=server_environment()) as served:
        async with aiohttp.ClientSession() as session, session.options(served.url) as options:
            assert "concatenation-unfinished" in options.headers["Tus-Extension"]
        async with Client(served.url, chunk_size=2 * MIB) as client:
            result = await client.upload(source.path, parallel=2)
    key = "w/" + str(result.url).rsplit("/", 1)[-1]
    assert await asyncio.to_thread(object_sha256, moto_s3, bucket, key) == source.sha256


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--store", "ftp://host/x"], {}, "error: --store: 'ftp://host/x' is neither a dir"),
        ([], {"TUSKIT_STORE": "s3://Bad_Bucket"}, "error: TUSKIT_STORE: 's3://Bad_Bucket' is"),
        (["--s3-region", "eu-west-1"], {}, "error: --s3-endpoint, --s3-region and --s3-part"),
    ],
)
async def test_a_bad_store_exits_2(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    code, out, err = await run("serve", "--port", "0", *args, env=env)
    assert (code, out) == (2, "")
    assert one_error_line(err).startswith(expected)


async def test_an_unreachable_bucket_exits_1_before_the_port_opens(moto_s3: MotoS3) -> None:
    port = free_port()
    missing = f"s3://tuskit-missing-{os.getpid()}/x"
    args = ["serve", "--store", missing, "--s3-endpoint", moto_s3.url, "--port", str(port)]
    code, out, err = await run(*args, env=server_environment())
    assert (code, out) == (1, "")  # no URL printed: it never served
    assert one_error_line(err).startswith(f"error: --store {missing}: ")
    nowhere = f"http://{LOOPBACK}:{free_port()}"
    args = ["serve", "--store", "s3://bucket", "--s3-endpoint", nowhere, "--port", str(port)]
    code, out, err = await run(*args, env=server_environment())
    assert (code, out) == (1, "")
    assert one_error_line(err).startswith(f"error: --store s3://bucket: s3://bucket at {nowhere}")
