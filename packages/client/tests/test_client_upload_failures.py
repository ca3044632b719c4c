"""Uploads against a misbehaving fake server: offset conflicts, retried statuses and
Retry-After, dropped and stalled connections, final errors, bounded retries, the retry hook."""

import pytest
from fake_tus import ServerFactory, Sleeps
from upload_inputs import DATA, MakeClient, pieces
from yarl import URL

from tuskit_client import ResponseError, RetryConfiguration, TransportError, UploadNotFound, _retry
from tuskit_client._progress import Span
from tuskit_client._sources import BytesSource


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
