"""Resume across runs: the store, explicit URLs, expired and vanished uploads."""

import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_tus import ServerFactory

from tuskit_client import (
    Client,
    JSONFileStore,
    MemoryStore,
    RetryConfiguration,
    TransportError,
    UploadNotFound,
)

DATA = os.urandom(60_000)
MakeClient = Callable[..., Client]
NO_RETRY = RetryConfiguration(retry_attempts=0, base_delay_seconds=0)


async def interrupted(
    make_client: MakeClient, endpoint: object, source: object, store: object, **kw: object
) -> None:
    """Run an upload that dies on the injected drop (no retries allowed)."""
    async with make_client(endpoint, chunk_size=20_000, store=store, config=NO_RETRY) as client:
        with pytest.raises(TransportError):
            await client.upload(source, **kw)  # type: ignore[arg-type]


async def test_resume_from_a_json_store_in_a_later_run(
    tus_server: ServerFactory, make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    store = tmp_path / "store.json"
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", drop_after=30_000 - 20_000)  # second chunk dies half way
    fake.inject("PATCH", status=None)  # placeholder so the first PATCH passes
    fake.faults.reverse()
    await interrupted(make_client, endpoint, path, str(store))
    upload = fake.only()
    assert len(upload.data) == 30_000
    fake.requests.clear()
    async with make_client(endpoint, chunk_size=20_000, store=JSONFileStore(store)) as client:
        result = await client.upload(path)
    assert result.resumed
    assert result.url.path == f"/files/{upload.id}"
    assert bytes(upload.data) == DATA
    assert fake.methods() == ["HEAD", "PATCH", "PATCH"]
    assert fake.requests[1][2]["Upload-Offset"] == "30000"


async def test_completed_upload_is_not_sent_again_unless_removed(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    store = MemoryStore()
    async with make_client(endpoint, store=store) as client:
        assert await client.find_previous(DATA) is None
        first = await client.upload(DATA)
        previous = await client.find_previous(DATA)
        assert previous is not None
        assert previous.url == str(first.url)
        assert previous.size == len(DATA)
        assert await client.find_previous(DATA[:-1]) is None
        fake.requests.clear()
        again = await client.upload(DATA)
        assert again.url == first.url
        assert again.resumed
        assert fake.methods() == ["HEAD"]
        await client.upload(DATA, remove_on_success=True)
        assert store.entries == {}
        fake.requests.clear()
        fresh = await client.upload(DATA, resume=False)
    assert fresh.url != first.url
    assert "HEAD" not in fake.methods()


@pytest.mark.parametrize("how", ["expired", "deleted"])
async def test_vanished_upload_starts_afresh(
    how: str, tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    store = MemoryStore()
    fake.inject("PATCH", drop_after=100)
    await interrupted(make_client, endpoint, DATA, store)
    (old,) = fake.uploads.values()
    if how == "expired":
        old.expired = True  # HEAD answers 410
    else:
        del fake.uploads[old.id]  # HEAD answers 404
    async with make_client(endpoint, store=store) as client:
        result = await client.upload(DATA)
    assert not result.resumed
    assert result.url.path != f"/files/{old.id}"
    assert bytes(fake.uploads[result.url.name].data) == DATA
    (entry,) = store.entries.values()
    assert entry.url == str(result.url)


async def test_past_upload_expires_starts_afresh(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    store = MemoryStore()
    fake.inject("PATCH", drop_after=100)
    await interrupted(make_client, endpoint, DATA, store)
    (old,) = fake.uploads.values()
    old.expires = datetime.now(UTC) - timedelta(minutes=1)
    async with make_client(endpoint, store=store) as client:
        result = await client.upload(DATA)
    assert not result.resumed
    assert result.url.name != old.id


async def test_changed_length_starts_afresh(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    store = MemoryStore()
    fake.inject("PATCH", drop_after=100)
    await interrupted(make_client, endpoint, DATA, store, key="same")
    async with make_client(endpoint, store=store) as client:
        result = await client.upload(DATA[:1000], key="same")
    assert not result.resumed
    assert bytes(fake.uploads[result.url.name].data) == DATA[:1000]


async def test_explicit_upload_url_is_continued(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    async with make_client(endpoint, chunk_size=25_000) as client:
        created = await client._get_engine().create(endpoint, length=len(DATA))
        fake.only().data += DATA[:25_000]
        fake.requests.clear()
        result = await client.upload(DATA, url=created.location)
    assert result.resumed
    assert result.url == created.location
    assert fake.methods() == ["HEAD", "PATCH", "PATCH"]
    assert bytes(fake.only().data) == DATA


async def test_explicit_url_that_is_gone(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    gone = endpoint.join(endpoint.with_path("/files/nope"))
    async with make_client(None) as client:
        with pytest.raises(UploadNotFound):
            await client.upload(DATA, url=gone)
    async with make_client(endpoint) as client:
        result = await client.upload(DATA, url=gone)
    assert not result.resumed
    assert bytes(fake.only().data) == DATA


async def test_stream_resumes_with_a_key(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for index in range(0, len(DATA), 7_000):
            yield DATA[index : index + 7_000]

    fake, endpoint = await tus_server(extensions=("creation", "creation-defer-length"))
    store = MemoryStore()
    fake.inject("PATCH", status=None)
    fake.inject("PATCH", drop_after=5_000)
    await interrupted(make_client, endpoint, stream(), store, key="stdin-1")
    upload = fake.only()
    assert len(upload.data) == 25_000
    assert upload.length is None
    async with make_client(endpoint, chunk_size=20_000, store=store) as client:
        result = await client.upload(stream(), key="stdin-1")
    assert result.resumed
    assert bytes(upload.data) == DATA
    assert upload.length == len(DATA)


async def test_stream_without_key_is_not_stored(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"abc"

    _, endpoint = await tus_server()
    store = MemoryStore()
    async with make_client(endpoint, store=store) as client:
        await client.upload(stream())
    assert store.entries == {}


async def test_unusable_head_answer_starts_afresh(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    store = MemoryStore()
    fake.inject("PATCH", drop_after=100)
    await interrupted(make_client, endpoint, DATA, store)
    fake.inject("HEAD", status=200)  # 200 without Upload-Offset: not a usable answer
    async with make_client(endpoint, store=store) as client:
        result = await client.upload(DATA)
    assert not result.resumed
    assert bytes(fake.uploads[result.url.name].data) == DATA
