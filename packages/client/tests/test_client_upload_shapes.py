"""Uploads of every shape against the fake server: the three Location styles, chunks and
creation-with-upload, unknown and deferred lengths, the size limit, and checksums."""

import os
from pathlib import Path

import pytest
from fake_tus import ServerFactory
from upload_inputs import DATA, MakeClient, pieces
from yarl import URL

from tuskit_client import CapabilityError, ResponseError, RetryConfiguration
from tuskit_client._plan import RESUMABLE_CREATION_BODY


@pytest.mark.parametrize("style", ["absolute", "path", "relative"])
async def test_every_location_style_works(
    style: str, tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(location=style)
    async with make_client(endpoint, chunk_size=16_384) as client:
        result = await client.upload(DATA, metadata={"filename": b"x.bin", "flag": None})
    upload = fake.only()
    assert bytes(upload.data) == DATA
    assert result.url == endpoint.join(URL(upload.id))
    assert (result.offset, result.length) == (len(DATA), len(DATA))
    assert upload.metadata == "filename eC5iaW4=,flag"
    assert result.expires is not None


async def test_chunks_and_creation_with_upload(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint, chunk_size=20_000) as client:
        await client.upload(DATA)
    assert fake.methods() == ["OPTIONS", "POST", "PATCH", "PATCH"]
    post = fake.requests[1][2]
    assert post["Content-Length"] == "20000"
    assert post["Expect"] == "100-continue"
    offsets = [h["Upload-Offset"] for m, _, h in fake.requests if m == "PATCH"]
    assert offsets == ["20000", "40000"]


async def test_with_a_store_the_post_carries_a_small_first_piece(
    tus_server: ServerFactory, make_client: MakeClient, tmp_path: Path
) -> None:
    # The URL is stored only once the POST is answered: bytes inside an interrupted POST
    # could not be resumed, so a resumable upload keeps its POST body small.
    fake, endpoint = await tus_server()
    data = os.urandom(RESUMABLE_CREATION_BODY * 3)
    async with make_client(endpoint, chunk_size=len(data), store=tmp_path / "s.json") as client:
        await client.upload(data)
    assert fake.methods() == ["OPTIONS", "POST", "PATCH"]
    assert fake.requests[1][2]["Content-Length"] == str(RESUMABLE_CREATION_BODY)
    assert fake.requests[2][2]["Content-Length"] == str(2 * RESUMABLE_CREATION_BODY)
    assert bytes(fake.only().data) == data


async def test_unknown_size_is_refused_when_options_says_nothing(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    # Without an OPTIONS answer nobody knows whether creation-defer-length is offered, and a
    # server without it would lose the upload (aiohttp-tus takes the length as 0).
    fake, endpoint = await tus_server()
    fake.inject("OPTIONS", status=404)
    async with make_client(endpoint) as client:
        with pytest.raises(CapabilityError, match="creation-defer-length"):
            await client.upload(pieces(DATA, 1000))
    assert fake.methods() == ["OPTIONS"]


async def test_no_data_in_the_post_without_creation_with_upload(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    async with make_client(endpoint, chunk_size=30_000) as client:
        await client.upload(DATA)
    assert fake.methods() == ["OPTIONS", "POST", "PATCH", "PATCH"]
    assert fake.requests[1][2].get("Content-Type") != "application/offset+octet-stream"
    assert fake.requests[1][2]["Upload-Length"] == str(len(DATA))
    assert bytes(fake.only().data) == DATA


async def test_chunk_size_none_streams_the_rest_in_one_patch(
    tus_server: ServerFactory, make_client: MakeClient, tmp_path: Path
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    fake, endpoint = await tus_server()
    async with make_client(endpoint, chunk_size=None) as client:
        await client.upload(path)
    assert fake.methods() == ["OPTIONS", "POST", "PATCH"]
    assert fake.requests[2][2]["Content-Length"] == str(len(DATA))
    assert bytes(fake.only().data) == DATA


async def test_empty_upload_needs_no_patch(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint) as client:
        result = await client.upload(b"")
    assert fake.methods() == ["OPTIONS", "POST"]
    assert (result.offset, result.length) == (0, 0)


@pytest.mark.parametrize("size", [0, 10_000, 25_000, 30_001])
@pytest.mark.parametrize("with_upload", [True, False])
async def test_unknown_length_stream_declares_length_on_the_last_chunk(
    size: int, with_upload: bool, tus_server: ServerFactory, make_client: MakeClient
) -> None:
    extensions = ("creation", "creation-defer-length") + (
        ("creation-with-upload",) if with_upload else ()
    )
    fake, endpoint = await tus_server(extensions=extensions)
    seen: list[tuple[int, int, int | None]] = []
    async with make_client(endpoint, chunk_size=10_000) as client:
        result = await client.upload(pieces(DATA[:size], 3_000), progress=lambda *p: seen.append(p))
    if size > 10_000:
        assert seen[0][2] is None  # unknown while streaming
    if seen:
        assert seen[-1] == (size, size, size)
    upload = fake.only()
    assert bytes(upload.data) == DATA[:size]
    assert upload.length == size == result.length
    declared = [h.get("Upload-Length") for m, _, h in fake.requests if m in ("POST", "PATCH")]
    assert declared.count(str(size)) == 1
    assert declared[-1] == str(size)


async def test_unknown_length_needs_defer_length(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    async with make_client(endpoint) as client:
        with pytest.raises(CapabilityError, match="defer"):
            await client.upload(pieces(b"abc", 1))
    assert "POST" not in fake.methods()


async def test_stream_with_known_size_is_not_deferred(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    async with make_client(endpoint, chunk_size=7_000) as client:
        await client.upload(pieces(DATA[:20_000], 999), size=20_000)
    assert fake.only().length == 20_000
    assert bytes(fake.only().data) == DATA[:20_000]


async def test_oversize_fails_before_any_data(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(max_size=1000)
    async with make_client(endpoint) as client:
        with pytest.raises(CapabilityError, match="at most 1000"):
            await client.upload(DATA)
    assert fake.methods() == ["OPTIONS"]


async def test_checksum_on_every_chunk(tus_server: ServerFactory, make_client: MakeClient) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint, chunk_size=20_000) as client:
        await client.upload(DATA, checksum="sha256")
    sums = [h.get("Upload-Checksum", "") for m, _, h in fake.requests if m in ("POST", "PATCH")]
    assert len(sums) == 3
    assert all(s.startswith("sha256 ") for s in sums)
    assert bytes(fake.only().data) == DATA


async def test_checksum_mismatch_resends_the_chunk(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation", "checksum"))
    fake.inject("PATCH", count=2, corrupt=True)
    async with make_client(endpoint, chunk_size=25_000) as client:
        await client.upload(DATA, checksum="sha1")
    assert fake.methods() == ["OPTIONS", "POST"] + ["PATCH"] * 4
    assert bytes(fake.only().data) == DATA


async def test_checksum_mismatch_gives_up_after_the_resend_budget(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation", "checksum"))
    fake.inject("PATCH", count=10, corrupt=True)
    config = RetryConfiguration(base_delay_seconds=0, checksum_resends=2)
    async with make_client(endpoint, config=config) as client:
        with pytest.raises(ResponseError) as info:
            await client.upload(DATA, checksum="md5")
    assert info.value.status == 460
    assert fake.methods().count("PATCH") == 3


async def test_checksum_algorithm_must_be_offered(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    _, endpoint = await tus_server(algorithms=("sha1",))
    async with make_client(endpoint) as client:
        with pytest.raises(CapabilityError, match="sha256"):
            await client.upload(DATA, checksum="sha256")
        with pytest.raises(ValueError, match="unknown checksum"):
            await client.upload(DATA, checksum="rot13")
    async with make_client(endpoint, chunk_size=None) as client:
        with pytest.raises(ValueError, match="chunk size"):
            await client.upload(DATA, checksum="sha1")
