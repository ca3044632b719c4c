"""The blocking client (tuskit_client.sync) against the misbehaving fake server.

The fake runs on the test's event loop; each blocking call runs in a worker thread.
"""

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_tus import ServerFactory, Sleeps
from yarl import URL

from tuskit_client import (
    Client,
    JSONFileStore,
    MemoryStore,
    ResponseError,
    RetryConfiguration,
    StoredUpload,
    TransportError,
    UploadNotFound,
    sync,
)

DATA = os.urandom(50_000)
FAST = RetryConfiguration(retry_attempts=5, base_delay_seconds=1.0, max_retry_period_seconds=8.0)
NO_RETRY = RetryConfiguration(retry_attempts=0, base_delay_seconds=0)


def blocking(endpoint: URL | None, sleeps: list[float], **options: object) -> sync.Client:
    options.setdefault("config", FAST)
    return sync.Client(endpoint, sleep=sleeps.append, random=lambda: 0.5, **options)  # type: ignore[arg-type]


async def test_upload_with_creation_with_upload_and_chunks(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    seen: list[tuple[int, int, int | None]] = []
    with blocking(endpoint, [], chunk_size=20_000) as client:
        result = await asyncio.to_thread(
            client.upload, DATA, metadata={"name": b"x"}, progress=lambda *p: seen.append(p)
        )
    assert fake.methods() == ["OPTIONS", "POST", "PATCH", "PATCH"]
    assert [h["Upload-Offset"] for m, _, h in fake.requests if m == "PATCH"] == ["20000", "40000"]
    assert fake.requests[1][2]["Content-Length"] == "20000"
    assert fake.only().metadata == "name eA=="
    assert bytes(fake.only().data) == DATA
    assert (result.offset, result.length) == (len(DATA), len(DATA))
    assert result.expires is not None
    assert seen[-1] == (len(DATA), len(DATA), len(DATA))
    assert [a for _, a, _ in seen] == sorted(a for _, a, _ in seen)


async def test_a_file_is_streamed_in_one_patch_without_a_chunk_size(
    tus_server: ServerFactory, tmp_path: Path
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    fake, endpoint = await tus_server(extensions=("creation",))
    with blocking(endpoint, [], chunk_size=None) as client:
        await asyncio.to_thread(client.upload, path)
    assert fake.methods() == ["OPTIONS", "POST", "PATCH"]
    assert fake.requests[2][2]["Content-Length"] == str(len(DATA))
    assert bytes(fake.only().data) == DATA


async def test_failures_are_retried_as_the_policy_says(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    fake.inject("PATCH", count=2, status=503)
    fake.inject("PATCH", drop_after=4_096)
    sleeps: list[float] = []
    with blocking(endpoint, sleeps, chunk_size=20_000) as client:
        await asyncio.to_thread(client.upload, DATA)
    assert bytes(fake.only().data) == DATA
    assert sleeps == [0.5, 1.0, 2.0]  # full jitter of 1, 2 and 4 s at random() = 0.5
    assert fake.methods().count("HEAD") == 3


async def test_checksum_mismatch_resends_and_a_4xx_fails_at_once(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server(extensions=("creation", "checksum"))
    fake.inject("PATCH", corrupt=True)
    sleeps: list[float] = []
    with blocking(endpoint, sleeps, chunk_size=25_000) as client:
        await asyncio.to_thread(client.upload, DATA, checksum="sha1")
        assert fake.methods() == ["OPTIONS", "POST"] + ["PATCH"] * 3
        fake.inject("PATCH", status=403)
        with pytest.raises(ResponseError) as info:
            await asyncio.to_thread(client.upload, DATA, resume=False)
    assert info.value.status == 403
    assert sleeps == []


async def test_resume_from_a_store_in_a_later_run(
    tus_server: ServerFactory, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    store = tmp_path / "store.json"
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", drop_after=10_000)
    client = blocking(endpoint, [], chunk_size=20_000, store=store, config=NO_RETRY)
    with client, pytest.raises(TransportError):
        await asyncio.to_thread(client.upload, path)
    upload = fake.only()
    assert len(upload.data) == 10_000
    fake.requests.clear()
    with blocking(endpoint, [], chunk_size=20_000, store=JSONFileStore(store)) as client:
        result = await asyncio.to_thread(client.upload, path, remove_on_success=True)
    assert result.resumed
    assert fake.methods() == ["HEAD", "PATCH", "PATCH"]
    assert fake.requests[1][2]["Upload-Offset"] == "10000"
    assert bytes(upload.data) == DATA
    assert store.read_text() == "{}"


async def test_a_memory_store_serves_both_clients(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    store = MemoryStore()
    with blocking(endpoint, [], store=store) as client:
        first = await asyncio.to_thread(client.upload, DATA)
    fake.requests.clear()
    async with Client(endpoint, store=store) as aclient:
        again = await aclient.upload(DATA)
    assert again.url == first.url
    assert again.resumed
    assert fake.methods() == ["HEAD"]


async def test_parts_stored_by_a_parallel_upload_give_way_to_one_upload(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server()
    store = MemoryStore()
    async with Client(endpoint, store=store, chunk_size=20_000) as aclient:
        parallel = await aclient.upload(DATA, parallel=2)
    assert len(parallel.parts) == 2
    (key,) = store.entries
    store.entries[key] = StoredUpload(None, len(DATA), tuple(map(str, parallel.parts)))
    fake.requests.clear()
    with blocking(endpoint, [], store=store) as client:
        result = await asyncio.to_thread(client.upload, DATA)
    assert result.parts == ()
    assert fake.methods() == ["OPTIONS", "POST"]  # the whole source fits the first POST
    assert store.entries[key].url == str(result.url)


async def test_info_metadata_and_delete(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    with blocking(endpoint, [], headers={"X-Trace": "1"}) as client:
        url = await asyncio.to_thread(client.create, DATA, metadata={"k": b"v", "e": None})
        info = await asyncio.to_thread(client.info, url)
        assert (info.offset, info.length, info.metadata) == (0, len(DATA), {"k": b"v", "e": None})
        assert await asyncio.to_thread(client.metadata, url) == {"k": b"v", "e": None}
        caps = await asyncio.to_thread(client.options)
        assert caps.max_size is None
        await asyncio.to_thread(client.delete, url)
        with pytest.raises(UploadNotFound):
            await asyncio.to_thread(client.info, url)
    assert all(h.get("X-Trace") == "1" for _, _, h in fake.requests)


async def test_module_functions(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server(location="relative")
    url = await asyncio.to_thread(sync.upload, endpoint, io.BytesIO(DATA), {"n": b"1"})
    assert url == endpoint.join(URL(fake.only().id))
    assert await asyncio.to_thread(sync.metadata, url) == {"n": b"1"}
    await asyncio.to_thread(sync.delete, url)
    with pytest.raises(UploadNotFound):
        await asyncio.to_thread(sync.delete, url, config=NO_RETRY)


async def test_method_override_and_a_refused_connection(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    with blocking(endpoint, [], override_method=True, chunk_size=30_000) as client:
        result = await asyncio.to_thread(client.upload, DATA)
        await asyncio.to_thread(client.delete, result.url)
    overridden = [h.get("X-HTTP-Method-Override") for m, _, h in fake.requests if m == "POST"]
    assert overridden == [None, "PATCH", "DELETE"]
    refused = blocking(URL("http://127.0.0.1:9/files/"), [], config=NO_RETRY)
    with refused, pytest.raises(TransportError):
        await asyncio.to_thread(refused.upload, b"abc")


def test_sources_it_cannot_upload() -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"x"

    with sync.Client("http://127.0.0.1:9/files/") as client:
        with pytest.raises(TypeError, match="seekable"):
            client.upload(stream())
        with pytest.raises(TypeError, match="binary mode"):
            client.upload(io.StringIO("text"))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="unknown checksum"):
            client.upload(b"x", checksum="rot13")
    with pytest.raises(ValueError, match="no endpoint"):
        sync.Client().upload(b"x")


@pytest.mark.parametrize("faults", ["none", "conflict", "transient", "drop"])
async def test_both_clients_make_the_same_requests(tus_server: ServerFactory, faults: str) -> None:
    """One flow, two drivers: the same faults give the same requests, in the same order."""

    async def scripted() -> tuple[object, URL]:
        fake, endpoint = await tus_server(extensions=("creation", "checksum", "expiration"))
        if faults == "conflict":
            fake.inject("PATCH", keep=1_000)
            fake.inject("PATCH", status=409)
        elif faults == "transient":
            fake.inject("PATCH", status=500)
            fake.inject("HEAD", status=502)
        elif faults == "drop":
            fake.inject("PATCH", drop_after=5_000)
        return fake, endpoint

    def trace(fake: object) -> list[tuple[str, str | None]]:
        requests = fake.requests  # type: ignore[attr-defined]
        return [(m, h.get("Upload-Offset")) for m, _, h in requests]

    async_fake, endpoint = await scripted()
    async with Client(endpoint, config=FAST, chunk_size=16_384, sleep=Sleeps()) as aclient:
        await aclient.upload(DATA, checksum="md5")
    sync_fake, endpoint = await scripted()
    with blocking(endpoint, [], chunk_size=16_384) as client:
        await asyncio.to_thread(client.upload, DATA, checksum="md5")
    assert trace(sync_fake) == trace(async_fake)
    assert bytes(sync_fake.only().data) == DATA  # type: ignore[attr-defined]
