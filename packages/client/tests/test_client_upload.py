"""End-to-end uploads against the misbehaving fake server."""

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fake_tus import ServerFactory, Sleeps
from yarl import URL

from tuskit_client import (
    CapabilityError,
    Client,
    ResponseError,
    RetryConfiguration,
    TransportError,
    UploadNotFound,
    _retry,
)
from tuskit_client._plan import RESUMABLE_CREATION_BODY
from tuskit_client._progress import Span
from tuskit_client._sources import BytesSource

DATA = os.urandom(50_000)
MakeClient = Callable[..., Client]


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for index in range(0, len(data), size):
        yield data[index : index + size]


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


async def test_conflict_with_and_without_offset(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    for conflict_offset in (True, False):
        fake, endpoint = await tus_server(extensions=("creation",), conflict_offset=conflict_offset)
        async with make_client(endpoint, chunk_size=20_000) as client:
            created = await client._get_engine().create(endpoint, length=len(DATA))
            upload = fake.only()
            upload.data += DATA[:20_000]  # the server has more than the client thinks
            engine = client._get_engine()
            flow = engine.flow.transfer(created.location, Span(), offset=0, length=len(DATA))
            offset, _, _ = await engine.run(flow, BytesSource(DATA))
        assert offset == len(DATA)
        assert bytes(upload.data) == DATA
        heads = fake.methods().count("HEAD")
        assert heads == (0 if conflict_offset else 1)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 423])
async def test_transient_statuses_are_retried_with_backoff(
    status: int, tus_server: ServerFactory, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("PATCH", count=2, status=status)
    config = RetryConfiguration(base_delay_seconds=1.0, max_retry_period_seconds=10.0)
    async with make_client(endpoint, chunk_size=20_000, config=config) as client:
        await client.upload(DATA)
    assert bytes(fake.only().data) == DATA
    assert sleeps == [0.5, 1.0]  # random() is 0.5: full jitter of 1 s, then 2 s
    assert fake.methods().count("HEAD") == 2


async def test_retry_after_is_honoured(
    tus_server: ServerFactory, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("PATCH", status=503, retry_after="4")
    fake.inject("POST", status=429, retry_after="2")
    async with make_client(endpoint, chunk_size=20_000) as client:
        await client.upload(DATA)
    assert sleeps == [2.0, 4.0]
    assert bytes(fake.only().data) == DATA


async def test_dropped_connection_mid_patch_resumes_from_the_stored_bytes(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", drop_after=12_288)
    async with make_client(endpoint, chunk_size=40_000) as client:
        await client.upload(DATA)
    assert bytes(fake.only().data) == DATA
    patches = [int(h["Upload-Offset"]) for m, _, h in fake.requests if m == "PATCH"]
    assert patches[:2] == [0, 12_288]
    assert fake.methods().count("HEAD") == 1


async def test_dropped_connection_of_a_stream_resends_from_its_buffer(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation", "creation-defer-length"))
    fake.inject("PATCH", drop_after=4_096)
    fake.inject("PATCH", keep=100)
    async with make_client(endpoint, chunk_size=16_000) as client:
        await client.upload(pieces(DATA, 5_000))
    assert bytes(fake.only().data) == DATA


async def test_client_errors_fail_at_once_with_details(
    tus_server: ServerFactory, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("PATCH", status=403)
    async with make_client(endpoint, chunk_size=20_000) as client:
        with pytest.raises(ResponseError) as info:
            await client.upload(DATA)
    error = info.value
    assert error.status == 403
    assert error.method == "PATCH"
    assert error.headers["Tus-Resumable"] == "1.0.0"
    assert "403" in str(error)
    assert error.url in str(error)
    assert sleeps == []
    assert fake.methods().count("PATCH") == 1


async def test_upload_gone_mid_upload_fails(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("PATCH", status=503)
    fake.inject("HEAD", status=410)
    async with make_client(endpoint, chunk_size=20_000) as client:
        with pytest.raises(UploadNotFound) as info:
            await client.upload(DATA)
    assert info.value.status == 410


async def test_retries_are_bounded_and_reset_after_progress(
    tus_server: ServerFactory,
    make_client: MakeClient,
    sleeps: Sleeps,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    monkeypatch.setattr(_retry, "PROGRESS_RESET", 10_000)  # one chunk is enough progress
    # Every chunk fails twice; with three attempts this only works if the count resets.
    config = RetryConfiguration(retry_attempts=3, base_delay_seconds=0, max_retry_period_seconds=0)
    for _ in range(5):
        fake.inject("PATCH", count=2, status=500)
        fake.inject("PATCH")  # a no-op fault: lets one PATCH through
    async with make_client(endpoint, chunk_size=10_000, config=config) as client:
        await client.upload(DATA)
    assert bytes(fake.only().data) == DATA
    assert len(sleeps) == 10
    fake.inject("PATCH", count=3, status=500)
    async with make_client(endpoint, chunk_size=10_000, config=config) as client:
        with pytest.raises(ResponseError):
            await client.upload(DATA)


async def test_network_failure_is_a_transport_error(make_client: MakeClient) -> None:
    config = RetryConfiguration(retry_attempts=1, base_delay_seconds=0)
    async with make_client(URL("http://127.0.0.1:9/files/"), config=config) as client:
        with pytest.raises(TransportError):
            await client.upload(b"abc")


async def test_progress_reports_sent_acknowledged_and_total(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", keep=5_000)
    seen: list[tuple[int, int, int | None]] = []
    async with make_client(endpoint, chunk_size=20_000) as client:
        await client.upload(DATA, progress=lambda s, a, t: seen.append((s, a, t)))
    assert seen[-1] == (len(DATA), len(DATA), len(DATA))
    assert all(t == len(DATA) for _, _, t in seen)
    assert all(a <= s for s, a, _ in seen)
    sent = [s for s, _, _ in seen]
    acked = [a for _, a, _ in seen]
    assert sent == sorted(sent)
    assert acked == sorted(acked)
    assert 5_000 in acked
    assert 20_000 not in acked


async def test_callers_session_is_used_and_left_open(tus_server: ServerFactory) -> None:
    import aiohttp

    fake, endpoint = await tus_server()
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer t"}) as session:
        async with Client(endpoint, session=session) as client:
            await client.upload(b"abc")
        assert not session.closed
        assert all(h.get("Authorization") == "Bearer t" for _, _, h in fake.requests)


async def test_headers_reach_every_request(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint, chunk_size=20_000, headers={"X-Trace": "1"}) as client:
        result = await client.upload(DATA)
        await client.info(result.url)
        await client.delete(result.url)
    assert len(fake.requests) == 6
    assert all(h.get("X-Trace") == "1" for _, _, h in fake.requests)


async def test_ssl_argument_reaches_every_request(tus_server: ServerFactory) -> None:
    import aiohttp

    fake, endpoint = await tus_server()
    seen: list[object] = []
    async with aiohttp.ClientSession() as real:

        class Recording:
            def request(self, *args: object, **kwargs: object) -> object:
                seen.append(kwargs["ssl"])
                return real.request(*args, **kwargs)  # type: ignore[arg-type]

        pin = aiohttp.Fingerprint(b"\0" * 32)
        config = RetryConfiguration(ssl=pin)
        async with Client(endpoint, session=Recording(), config=config, chunk_size=20_000) as c:  # type: ignore[arg-type]
            result = await c.upload(DATA)
            await c.metadata(result.url)
    assert len(seen) == len(fake.requests) == 5
    assert all(s is pin for s in seen)


async def test_server_without_options_still_gets_a_plain_upload(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(options_status=405)
    async with make_client(endpoint, chunk_size=20_000) as client:
        result = await client.upload(DATA, parallel=3)
        assert result.parts == ()
        with pytest.raises(CapabilityError, match="checksum"):
            await client.upload(DATA, checksum="sha1")
    posts = [h for m, _, h in fake.requests if m == "POST"]
    assert len(posts) == 1
    assert "Content-Length" not in posts[0] or posts[0]["Content-Length"] == "0"
    assert bytes(fake.only().data) == DATA


async def test_post_failures_are_retried_but_4xx_is_not(
    tus_server: ServerFactory, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("POST", status=500)
    fake.inject("OPTIONS", status=502)
    async with make_client(endpoint) as client:
        await client.upload(b"abc")
        assert len(sleeps) == 2
        fake.inject("POST", status=412)
        with pytest.raises(ResponseError) as info:
            await client.upload(b"abc")
    assert info.value.status == 412
    assert len(sleeps) == 2


async def test_stalled_patch_is_aborted_and_resumed(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", stall_after=8_192)
    async with make_client(endpoint, chunk_size=40_000, stall_timeout=0.3) as client:
        result = await client.upload(DATA)
    assert result.offset == len(DATA)
    assert bytes(fake.only().data) == DATA
    patches = [int(h["Upload-Offset"]) for m, _, h in fake.requests if m == "PATCH"]
    assert patches[:2] == [0, 8_192]


async def test_should_retry_hook_reaches_the_upload_loop(
    tus_server: ServerFactory, make_client: MakeClient, sleeps: Sleeps
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", status=403)  # normally final
    fake.inject("PATCH", status=503)  # normally retried

    def hook(error: BaseException, attempt: int) -> bool | None:
        if isinstance(error, ResponseError) and error.status == 403:
            return True  # e.g. a token that is refreshed behind the scenes
        return None

    config = RetryConfiguration(base_delay_seconds=0, should_retry=hook)
    async with make_client(endpoint, config=config) as client:
        await client.upload(DATA)
    assert bytes(fake.only().data) == DATA
    assert fake.methods().count("PATCH") == 3
    veto = RetryConfiguration(base_delay_seconds=0, should_retry=lambda e, n: False)
    fake.inject("PATCH", status=503)
    async with make_client(endpoint, config=veto) as client:
        with pytest.raises(ResponseError):
            await client.upload(DATA)
