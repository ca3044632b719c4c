"""Parallel upload of one file as concatenated parts, and aiotus's upload_multiple."""

import io
import logging
import os
from collections.abc import Callable

import pytest
from fake_tus import ServerFactory

from tuskit_client import (
    CapabilityError,
    Client,
    MemoryStore,
    RetryConfiguration,
    TransportError,
    upload_multiple,
)

DATA = os.urandom(90_000)
MakeClient = Callable[..., Client]


async def test_parallel_splits_into_partials_and_concatenates(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    seen: list[tuple[int, int, int | None]] = []
    async with make_client(endpoint, chunk_size=16_000) as client:
        result = await client.upload(
            DATA,
            parallel=3,
            metadata={"filename": b"a"},
            progress=lambda s, a, t: seen.append((s, a, t)),
        )
    posts = [h for m, _, h in fake.requests if m == "POST"]
    partials = [h for h in posts if h.get("Upload-Concat") == "partial"]
    assert sorted(int(h["Upload-Length"]) for h in partials) == [30_000] * 3
    assert all("Upload-Metadata" not in h for h in partials)
    final = posts[-1]
    assert final["Upload-Concat"] == "final;" + " ".join(str(u) for u in result.parts)
    assert "Upload-Length" not in final
    assert final["Upload-Metadata"] == "filename YQ=="
    assert len(result.parts) == 3
    upload = fake.uploads[result.url.name]
    assert upload.final
    assert bytes(upload.data) == DATA
    assert seen[-1] == (len(DATA), len(DATA), len(DATA))


async def test_parallel_falls_back_without_concatenation(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    async with make_client(endpoint) as client:
        result = await client.upload(DATA, parallel=4)
    assert result.parts == ()
    assert [h.get("Upload-Concat") for m, _, h in fake.requests if m == "POST"] == [None]
    assert bytes(fake.only().data) == DATA


async def test_parallel_parts_resume_one_by_one(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation", "concatenation"))
    store = MemoryStore()
    fake.inject("PATCH", drop_after=10_000)
    no_retry = RetryConfiguration(retry_attempts=0, base_delay_seconds=0)
    async with make_client(endpoint, store=store, config=no_retry) as client:
        with pytest.raises(TransportError):
            await client.upload(DATA, parallel=3)
    (entry,) = store.entries.values()
    assert entry.url is None
    assert len(entry.parts) == 3
    before = {u.id: len(u.data) for u in fake.uploads.values()}
    assert 10_000 in before.values()
    # One stored part vanished in between: it alone is created again.
    known = [u.rsplit("/", 1)[-1] for u in entry.parts if u is not None]
    vanished = next(i for i in known if len(fake.uploads[i].data) != 10_000)
    del fake.uploads[vanished]
    missing = 1 + entry.parts.count(None)
    fake.requests.clear()
    async with make_client(endpoint, store=store) as client:
        result = await client.upload(DATA, parallel=3)
    assert result.resumed
    posts = [h.get("Upload-Concat", "") for m, _, h in fake.requests if m == "POST"]
    assert posts.count("partial") == missing
    assert posts[-1].startswith("final;")
    patched = [h["Upload-Offset"] for m, _, h in fake.requests if m == "PATCH"]
    assert "10000" in patched
    assert bytes(fake.uploads[result.url.name].data) == DATA
    (entry,) = store.entries.values()
    assert entry.url == str(result.url)
    fake.requests.clear()
    async with make_client(endpoint, store=store) as client:
        again = await client.upload(DATA, parallel=3)
    assert again.url == result.url
    assert fake.methods() == ["HEAD"]


async def test_upload_multiple_joins_files_in_order(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server(location="path")
    files = [io.BytesIO(DATA[:100]), io.BytesIO(DATA[100:5000]), io.BytesIO(b"")]
    url = await upload_multiple(
        endpoint, files, metadata={"name": b"joined"}, parallel_uploads=2, chunksize=1000
    )
    assert url is not None
    final = fake.uploads[url.name]
    assert bytes(final.data) == DATA[:5000]
    assert final.metadata == "name am9pbmVk"
    assert sum(1 for u in fake.uploads.values() if u.partial) == 3


async def test_upload_multiple_without_concatenation(
    tus_server: ServerFactory, caplog: pytest.LogCaptureFixture, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    with caplog.at_level(logging.ERROR, logger="tuskit_client"):
        assert await upload_multiple(endpoint, [io.BytesIO(b"a")]) is None
    assert "concatenation" in caplog.text
    async with make_client(endpoint) as client:
        with pytest.raises(CapabilityError):
            await client.upload_many([b"a"])
    assert "POST" not in fake.methods()


async def test_parallel_parts_with_checksums_survive_faults(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("PATCH", corrupt=True)
    fake.inject("PATCH", status=503, retry_after="0")
    fake.inject("PATCH", drop_after=3_000)
    fake.inject("HEAD", status=500)
    async with make_client(endpoint, chunk_size=8_000) as client:
        result = await client.upload(DATA, parallel=4, checksum="crc32")
    assert len(result.parts) == 4
    assert bytes(fake.uploads[result.url.name].data) == DATA
    assert all(
        h["Upload-Checksum"].startswith("crc32 ") for m, _, h in fake.requests if m == "PATCH"
    )


async def test_upload_many_parts_resume_from_the_store(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation", "concatenation"))
    store = MemoryStore()
    files = [DATA[:30_000], DATA[30_000:60_000], DATA[60_000:]]
    fake.inject("PATCH", drop_after=5_000)
    no_retry = RetryConfiguration(retry_attempts=0, base_delay_seconds=0)
    async with make_client(endpoint, store=store, config=no_retry) as client:
        with pytest.raises(TransportError):
            await client.upload_many(files, parallel_uploads=1)
    assert len(store.entries) == 1
    fake.requests.clear()
    async with make_client(endpoint, store=store) as client:
        result = await client.upload_many(files, parallel_uploads=1)
    assert result.resumed
    posts = [h.get("Upload-Concat", "") for m, _, h in fake.requests if m == "POST"]
    assert posts.count("partial") == 2
    assert fake.requests[0][0] == "OPTIONS"
    assert fake.requests[1][0] == "HEAD"
    assert bytes(fake.uploads[result.url.name].data) == DATA


async def test_parallel_upload_boundaries(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint) as client:
        result = await client.upload(DATA, boundaries=[(0, 10), (10, 80_000), (80_000, 90_000)])
        lengths = [fake.uploads[u.name].length for u in result.parts]
        assert lengths == [10, 79_990, 10_000]
        assert bytes(fake.uploads[result.url.name].data) == DATA
        with pytest.raises(ValueError, match="contiguous"):
            await client.upload(DATA, boundaries=[(0, 10), (20, 90_000)])
        with pytest.raises(ValueError, match="contiguous"):
            await client.upload(DATA, boundaries=[(0, 10), (10, 80_000)])
