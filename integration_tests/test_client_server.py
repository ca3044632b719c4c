"""tuskit-client against tuskit-server, in one process: every extension, both APIs.

The server is a real aiohttp app on a loopback port (pytest-aiohttp ``aiohttp_server``) with
a FileStore in a temporary directory; a middleware records what it was sent and can make
requests fail on purpose. Stored bytes are read back with GET (the download extension).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer
from yarl import URL

import tuskit_client
from tuskit_client import (
    CapabilityError,
    Client,
    JSONFileStore,
    ResponseError,
    RetryConfiguration,
    UploadNotFound,
)
from tuskit_common import ALGORITHMS
from tuskit_server import Expiration, setup_tus

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FAST = RetryConfiguration(retry_attempts=3, max_retry_period_seconds=0.05, base_delay_seconds=0.01)


@dataclass
class Tus:
    """The running server: its endpoint, what it saw, and a switch that breaks PATCHes."""

    server: TestServer
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    patches_before_failing: int | None = None

    @property
    def endpoint(self) -> str:
        return str(self.server.make_url("/files/"))

    def methods(self) -> list[str]:
        return [method for method, _ in self.seen]

    async def download(self, url: str | URL) -> bytes:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            return await response.read()


class Clock:
    """A hand-moved clock for the server's expiration."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def tus(aiohttp_server: AiohttpServer, tmp_path: Path, clock: Clock) -> Tus:
    holder: dict[str, Tus] = {}

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        state = holder["tus"]
        state.seen.append((request.method, dict(request.headers)))
        if request.method == "PATCH" and state.patches_before_failing is not None:
            if state.patches_before_failing == 0:
                await request.read()
                return web.Response(status=500, text="broken on purpose")
            state.patches_before_failing -= 1
        return await handler(request)

    app = web.Application(middlewares=[record])
    setup_tus(
        app,
        upload_path=tmp_path / "uploads",
        upload_url="/files",
        max_size=50 * 1024 * 1024,
        expiration=Expiration(after=timedelta(hours=1)),
        clock=clock,
    )
    holder["tus"] = Tus(await aiohttp_server(app))
    return holder["tus"]


def random_file(tmp_path: Path, size: int, name: str = "source.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


@pytest.mark.parametrize("size", [0, 1, 1000, 3 * 65536 + 5])
async def test_sizes_round_trip(tus: Tus, tmp_path: Path, size: int) -> None:
    source = random_file(tmp_path, size)
    async with Client(tus.endpoint, chunk_size=65536) as client:
        result = await client.upload(source)
    assert result.offset == result.length == size
    assert await tus.download(result.url) == source.read_bytes()


async def test_metadata_round_trip_is_exact(tus: Tus, tmp_path: Path) -> None:
    metadata = {"filename": "naïve €.txt".encode(), "raw": b"\xff\x00\xfe", "flag": None}
    async with Client(tus.endpoint) as client:
        result = await client.upload(b"data", metadata=metadata)
        info = await client.info(result.url)
    assert info.metadata == metadata
    assert await tuskit_client.metadata(result.url) == metadata  # the aiotus-shaped call


async def test_creation_with_upload_sends_data_in_the_post(tus: Tus) -> None:
    async with Client(tus.endpoint) as client:
        await client.upload(b"x" * 5000, resume=False)
    posts = [headers for method, headers in tus.seen if method == "POST"]
    assert posts[0]["Content-Length"] == "5000"
    assert "PATCH" not in tus.methods()


async def test_deferred_length_from_an_async_iterable(tus: Tus) -> None:
    pieces = [os.urandom(30_000) for _ in range(5)]

    async def stream() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async with Client(tus.endpoint, chunk_size=64 * 1024) as client:
        result = await client.upload(stream())
    assert await tus.download(result.url) == b"".join(pieces)
    post = next(headers for method, headers in tus.seen if method == "POST")
    assert post["Upload-Defer-Length"] == "1"


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
async def test_checksums(tus: Tus, tmp_path: Path, algorithm: str) -> None:
    source = random_file(tmp_path, 200_000)
    async with Client(tus.endpoint, chunk_size=64 * 1024) as client:
        result = await client.upload(source, checksum=algorithm)
    assert await tus.download(result.url) == source.read_bytes()
    sent = [h for m, h in tus.seen if m in ("POST", "PATCH") and "Upload-Checksum" in h]
    assert len(sent) == 4
    assert all(h["Upload-Checksum"].startswith(algorithm + " ") for h in sent)


async def test_parallel_split_is_concatenated(tus: Tus, tmp_path: Path) -> None:
    source = random_file(tmp_path, 1_000_003)
    async with Client(tus.endpoint, chunk_size=128 * 1024) as client:
        result = await client.upload(source, parallel=4, metadata={"name": b"whole"})
        info = await client.info(result.url)
    assert len(result.parts) == 4
    assert await tus.download(result.url) == source.read_bytes()
    assert info.metadata == {"name": b"whole"}
    assert info.concat is not None
    assert info.concat.startswith("final;")


async def test_aiotus_upload_multiple_concatenates_files(tus: Tus, tmp_path: Path) -> None:
    files = [random_file(tmp_path, 10_000 * (i + 1), f"f{i}") for i in range(3)]
    handles = [path.open("rb") for path in files]
    try:
        url = await tuskit_client.upload_multiple(tus.endpoint, handles, metadata={"k": b"v"})
    finally:
        for handle in handles:
            handle.close()
    assert url is not None
    assert await tus.download(url) == b"".join(path.read_bytes() for path in files)


async def test_aiotus_upload_returns_url_or_none(tus: Tus, tmp_path: Path) -> None:
    source = random_file(tmp_path, 70_000)
    with source.open("rb") as handle:
        url = await tuskit_client.upload(tus.endpoint, handle, {"a": b"1"}, chunksize=10_000)
    assert url is not None
    assert await tus.download(url) == source.read_bytes()
    with source.open("rb") as handle:
        failed = await tuskit_client.upload(
            str(URL(tus.endpoint).with_path("/nowhere/")), handle, config=FAST
        )
    assert failed is None


async def test_delete_then_the_upload_is_gone(tus: Tus) -> None:
    async with Client(tus.endpoint) as client:
        result = await client.upload(b"bye")
        await client.delete(result.url)
        with pytest.raises(UploadNotFound) as info:
            await client.info(result.url)
    assert info.value.status in (404, 410)


async def test_resume_across_clients_through_a_json_store(tus: Tus, tmp_path: Path) -> None:
    source = random_file(tmp_path, 6 * 65536)
    store = tmp_path / "resume.json"
    tus.patches_before_failing = 2
    no_retry = RetryConfiguration(retry_attempts=0)
    async with Client(tus.endpoint, chunk_size=65536, store=store, config=no_retry) as client:
        with pytest.raises(ResponseError) as failure:
            await client.upload(source)
    assert failure.value.status == 500
    assert tus.methods().count("POST") == 1
    tus.patches_before_failing = None
    async with Client(tus.endpoint, chunk_size=65536, store=JSONFileStore(store)) as client:
        result = await client.upload(source)
    assert result.resumed
    assert tus.methods().count("POST") == 1  # no second creation: the upload was continued
    # the POST carried chunk 1; PATCHes: chunks 2-3, the broken one, then chunks 4-6
    assert tus.methods().count("PATCH") == 3 + 3
    assert await tus.download(result.url) == source.read_bytes()


async def test_expired_upload_starts_afresh(tus: Tus, tmp_path: Path, clock: Clock) -> None:
    source = random_file(tmp_path, 4 * 65536)
    tus.patches_before_failing = 1
    async with Client(
        tus.endpoint, chunk_size=65536, store=tmp_path / "s.json", config=RetryConfiguration(0)
    ) as client:
        with pytest.raises(ResponseError):
            await client.upload(source)
    tus.patches_before_failing = None
    clock.now += timedelta(hours=2)
    async with Client(tus.endpoint, chunk_size=65536, store=tmp_path / "s.json") as client:
        result = await client.upload(source)
    assert not result.resumed
    assert tus.methods().count("POST") == 2
    assert await tus.download(result.url) == source.read_bytes()
    assert result.expires is not None
    assert result.expires > clock.now


async def test_max_size_fails_before_sending(tus: Tus) -> None:
    async with Client(tus.endpoint) as client:
        with pytest.raises(CapabilityError, match="at most"):
            await client.upload(b"x" * (50 * 1024 * 1024 + 1))
    assert "POST" not in tus.methods()


async def test_large_upload_hash_matches(tus: Tus, tmp_path: Path) -> None:
    source = random_file(tmp_path, 16 * 1024 * 1024 + 3)
    async with Client(tus.endpoint, chunk_size=4 * 1024 * 1024) as client:
        result = await client.upload(source)
    stored = await tus.download(result.url)
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
