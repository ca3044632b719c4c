"""Several ``tus serve`` processes sharing one bucket (moto's S3 server) and one redis-server,
for the scale-out tests, and a round-robin HTTP proxy that sends each request to the next
instance, as a load balancer without sticky sessions does.

Everything listens on free loopback ports and is stopped when its block ends; moto and
redis-server are started by :mod:`integration_tests.s3` and :mod:`integration_tests.redis_server`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from integration_tests.harness import (
    LOOPBACK,
    HttpProbe,
    RunningServer,
    SourceFile,
    StartServer,
    free_port,
    serve_argv,
)
from integration_tests.redis_server import RedisServer
from integration_tests.s3 import CREDENTIALS, MotoS3
from tuskit_client import Client

__all__ = [
    "BASE_PATH",
    "MIB",
    "OCTETS",
    "Cluster",
    "RoundRobinProxy",
    "V",
    "object_sha256",
    "resume_on",
    "server_environment",
    "sha256_of_get",
    "start_cluster",
    "tus_serve_argv",
    "wait_for",
]

BASE_PATH = "/files/"
MIB = 1 << 20
#: The tus version header every request to the cluster carries, and a PATCH's headers.
V = {"Tus-Resumable": "1.0.0"}
OCTETS = {**V, "Content-Type": "application/offset+octet-stream"}
#: Headers that describe one hop of a connection, never forwarded (RFC 9110 §7.6.1).
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
_PIECE = 1 << 20


def tus_serve_argv(
    port: int, s3_url: str, bucket: str, redis: RedisServer, *extra: str
) -> list[str]:
    """``tus serve`` on ``s3://bucket/uploads`` at ``s3_url``, locks in ``redis``, behind a
    proxy."""
    return serve_argv(
        port,
        "--store",
        f"s3://{bucket}/uploads",
        "--s3-endpoint",
        s3_url,
        "--s3-region",
        CREDENTIALS["AWS_DEFAULT_REGION"],
        "--locker",
        redis.url,
        "--behind-proxy",
        "--no-access-log",
        *extra,
    )


@dataclass(frozen=True, slots=True)
class Cluster:
    """The running instances and what they share."""

    moto: MotoS3
    bucket: str
    redis: RedisServer
    instances: Sequence[RunningServer]

    @property
    def urls(self) -> list[str]:
        return [instance.url for instance in self.instances]

    def key(self, upload_url: str) -> str:
        """The finished upload's object key (``--store s3://bucket/uploads``), from its URL
        or id."""
        return "uploads/" + upload_url.rstrip("/").rsplit("/", 1)[-1]


def start_cluster(
    start_server: StartServer,
    moto: MotoS3,
    redis: RedisServer,
    *extra: str,
    count: int = 2,
    s3_url: str | None = None,
) -> Cluster:
    """``count`` instances on a new bucket, each on a free port, reaching moto directly (or
    through ``s3_url``, e.g. a fault proxy); stopped with the test (``start_server``)."""
    bucket = moto.new_bucket()
    env = server_environment()
    instances = []
    for _ in range(count):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}{BASE_PATH}"
        argv = tus_serve_argv(port, s3_url or moto.url, bucket, redis, *extra)
        instances.append(start_server(argv, ready=HttpProbe(url), env=env))
    return Cluster(moto, bucket, redis, instances)


def server_environment() -> dict[str, str]:
    """The test's environment for a server: moto's credentials, no TUSKIT_* or AWS_* of the
    developer's shell."""
    prefixes = ("TUSKIT_", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}
    return {**env, **CREDENTIALS}


async def sha256_of_get(session: aiohttp.ClientSession, url: str) -> str:
    """SHA-256 of a finished upload as GET streams it (through any instance)."""
    digest = hashlib.sha256()
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        async for piece in response.content.iter_chunked(_PIECE):
            digest.update(piece)
    return digest.hexdigest()


def object_sha256(moto: MotoS3, bucket: str, key: str) -> str:
    """SHA-256 of an object as any S3 tool reads it (blocking: call it in a thread)."""
    body = moto.client().get_object(Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    for piece in iter(lambda: body.read(_PIECE), b""):
        digest.update(piece)
    return digest.hexdigest()


async def resume_on(cluster: Cluster, url: str, source: SourceFile, chunk_size: int) -> None:
    """Resume the interrupted upload at ``url`` with the tuskit client, from what the cluster
    holds, and check that S3 ends up holding exactly ``source``."""
    async with Client(None, chunk_size=chunk_size) as client:
        result = await client.upload(source.path, url=url, resume=False)
    assert result.resumed
    assert result.offset == source.size
    key = cluster.key(url)
    digest = await asyncio.to_thread(object_sha256, cluster.moto, cluster.bucket, key)
    assert digest == source.sha256


class RoundRobinProxy:
    """An HTTP proxy on a free loopback port sending request *n* to upstream *n mod k*.

    Bodies are streamed both ways; ``X-Forwarded-Host`` and ``-Proto`` name the proxy, so
    servers started with ``--behind-proxy`` hand out upload URLs on it. ``sent`` counts the
    requests per (method, upstream index), so a test can check both instances served, and
    ``partials_to`` where each partial upload was created.
    """

    def __init__(self, upstreams: Sequence[str]) -> None:
        origins = [str(URL(u).origin()) for u in upstreams]
        self._next = itertools.cycle(enumerate(origins))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        self.sent: Counter[tuple[str, int]] = Counter()
        #: the upstream each partial upload's creation (``Upload-Concat: partial``) went to
        self.partials_to: list[int] = []

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{BASE_PATH}"

    async def __aenter__(self) -> Self:
        timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
        self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        index, origin = next(self._next)
        self.sent[(request.method, index)] += 1
        if request.method == "POST" and request.headers.get("Upload-Concat") == "partial":
            self.partials_to.append(index)
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP)
        headers["X-Forwarded-Host"] = f"{LOOPBACK}:{self.port}"
        headers["X-Forwarded-Proto"] = "http"
        body = request.content.iter_chunked(_PIECE) if request.body_exists else None
        async with self._session.request(
            request.method,
            origin + request.rel_url.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP and name.lower() != "content-length":
                    response.headers.add(name, value)
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            async for piece in upstream.content.iter_chunked(_PIECE):
                await response.write(piece)
            await response.write_eof()
            return response


async def wait_for(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll ``check`` until it returns true (fails after ``within`` seconds)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"{check.__name__} still false after {within} s"
        await asyncio.sleep(0.1)
