"""The aiotus-shaped API: same calls, same results, the aiotus bugs fixed."""

import io
import logging
import os

import aiohttp
import pytest
from fake_tus import ServerFactory
from yarl import URL

import tuskit_client
from tuskit_client import (
    RetryConfiguration,
    UploadNotFound,
    core,
    creation,
)
from tuskit_common import MetadataError

DATA = os.urandom(10_000)
FAST = RetryConfiguration(retry_attempts=2, base_delay_seconds=0, max_retry_period_seconds=0)


async def test_upload_returns_the_url_and_metadata_reads_back(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server(location="path")  # aiotus fails on path-only Locations
    url = await tuskit_client.upload(
        str(endpoint), io.BytesIO(DATA), {"k": b"\xff\x00", "e": None}, config=FAST, chunksize=3000
    )
    assert url == endpoint.join(URL(fake.only().id))
    assert bytes(fake.only().data) == DATA
    assert await tuskit_client.metadata(url, config=FAST) == {"k": b"\xff\x00", "e": None}


async def test_upload_failure_returns_none_and_logs(
    tus_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("POST", status=413)
    with caplog.at_level(logging.ERROR, logger="tuskit_client"):
        assert await tuskit_client.upload(endpoint, io.BytesIO(DATA), config=FAST) is None
    assert "413" in caplog.text
    assert fake.methods().count("POST") == 1  # a 4xx is not retried (aiotus: 10 times)


async def test_bad_metadata_raises_before_any_request(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    with pytest.raises(MetadataError):
        await tuskit_client.upload(endpoint, io.BytesIO(b"x"), {"bad key": b"v"})
    with pytest.raises(ValueError, match="comma"):
        await tuskit_client.upload(endpoint, io.BytesIO(b"x"), {"a,b": b"v"})
    with pytest.raises(TypeError):
        await tuskit_client.upload(endpoint, io.BytesIO(b"x"), {"a": "text"})  # type: ignore[dict-item]
    assert fake.requests == []


async def test_metadata_none_after_retries_and_protocol_error(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server()
    assert await tuskit_client.metadata(endpoint.join(URL("nope")), config=FAST) is None
    url = await tuskit_client.upload(endpoint, io.BytesIO(b"x"), config=FAST)
    assert url is not None
    fake.only().metadata = "k !!!"
    with pytest.raises(tuskit_client.ProtocolError):
        await tuskit_client.metadata(url, config=FAST)


async def test_delete_terminates(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    url = await tuskit_client.upload(endpoint, io.BytesIO(b"abc"), config=FAST)
    assert url is not None
    await tuskit_client.delete(url, config=FAST)
    assert fake.uploads == {}
    with pytest.raises(UploadNotFound) as info:
        await tuskit_client.delete(url, config=FAST)
    assert info.value.status == 404


async def test_low_level_modules(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server(location="relative", max_size=10**9)
    async with aiohttp.ClientSession() as session:
        config = await core.configuration(session, endpoint)
        assert config.protocol_versions == ["1.0.0"]
        assert config.max_size == 10**9
        assert "creation" in config.protocol_extensions
        assert "sha1" in config.checksum_algorithms
        location = await creation.create(session, endpoint, io.BytesIO(DATA), {"a": b"b"})
        assert location == endpoint.join(URL(fake.only().id))
        assert fake.only().length == len(DATA)
        assert await core.offset(session, location) == 0
        await core.upload_buffer(session, location, io.BytesIO(DATA), chunksize=4096)
        assert await core.offset(session, location) == len(DATA)
        assert await core.metadata(session, location) == {"a": b"b"}
        deferred = await creation.create(session, endpoint, None)
        assert fake.uploads[deferred.name].length is None
        posts = [h for m, _, h in fake.requests if m == "POST"]
        assert posts[-1]["Upload-Defer-Length"] == "1"
        with pytest.raises(tuskit_client.ResponseError) as info:
            # The partial is not complete (and not partial): the server refuses the final.
            await creation.create(
                session, endpoint, None, headers={"Upload-Concat": f"final;{location}"}
            )
        assert info.value.status == 400
        final_post = [h for m, _, h in fake.requests if m == "POST"][-1]
        assert "Upload-Length" not in final_post
        assert "Upload-Defer-Length" not in final_post
        assert creation.encode_metadata({"a": None}) == "a"
        assert not session.closed


async def test_upload_buffer_resumes_from_the_server_offset(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    async with aiohttp.ClientSession() as session:
        location = await creation.create(session, endpoint, io.BytesIO(DATA))
        fake.only().data += DATA[:6000]
        await core.upload_buffer(session, location, io.BytesIO(DATA), chunksize=1000)
    patches = [h["Upload-Offset"] for m, _, h in fake.requests if m == "PATCH"]
    assert patches == ["6000", "7000", "8000", "9000"]
    assert bytes(fake.only().data) == DATA


def test_retry_configuration_keeps_aiotus_fields() -> None:
    config = RetryConfiguration()
    assert (config.retry_attempts, config.max_retry_period_seconds, config.ssl) == (10, 60.0, True)
    assert RetryConfiguration(3, 5.0, False).ssl is False


async def test_create_raises_protocol_error_on_a_wrong_status(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    fake.inject("POST", status=400)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(tuskit_client.ProtocolError) as info:
            await creation.create(session, endpoint, io.BytesIO(b"x"), {})
    assert isinstance(info.value, tuskit_client.ResponseError)
    assert info.value.status == 400


async def test_callers_session_survives_the_aiotus_functions(tus_server: ServerFactory) -> None:
    fake, endpoint = await tus_server()
    async with aiohttp.ClientSession(headers={"X-Tenant": "t1"}) as session:
        url = await tuskit_client.upload(endpoint, io.BytesIO(DATA), client_session=session)
        assert url is not None
        assert await tuskit_client.metadata(url, client_session=session) == {}
        await tuskit_client.delete(url, client_session=session)
        assert not session.closed
    assert all(h.get("X-Tenant") == "t1" for _, _, h in fake.requests)


async def test_owned_session_is_closed(tus_server: ServerFactory) -> None:
    _, endpoint = await tus_server()
    client = tuskit_client.Client(endpoint)
    await client.upload(b"abc")
    session = client._session
    assert session is not None
    assert not session.closed
    await client.aclose()
    assert session.closed


async def test_upload_takes_aiotus_steps_with_the_callers_headers(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server()
    url = await tuskit_client.upload(
        endpoint, io.BytesIO(DATA), {"k": b"v"}, config=FAST, headers={"h1": "v1"}
    )
    assert url is not None
    assert fake.methods() == ["POST", "HEAD", "PATCH"]
    assert all(h.get("h1") == "v1" for _, _, h in fake.requests)
    assert bytes(fake.only().data) == DATA


@pytest.mark.parametrize(("attempts", "posts"), [(0, 1), (1, 1), (3, 3)])
async def test_retry_attempts_counts_every_attempt_as_in_aiotus(
    tus_server: ServerFactory, attempts: int, posts: int
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("POST", count=5, status=500)
    config = RetryConfiguration(attempts, 0, base_delay_seconds=0)
    assert await tuskit_client.upload(endpoint, io.BytesIO(DATA), config=config) is None
    assert fake.methods().count("POST") == posts


async def test_client_create_sends_no_data_and_upload_continues_it(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server()
    async with tuskit_client.Client(endpoint, config=FAST) as client:
        url = await client.create(DATA, metadata={"name": b"x"})
        assert (fake.only().length, bytes(fake.only().data)) == (len(DATA), b"")
        result = await client.upload(DATA, url=url)
        assert await client.metadata(url) == {"name": b"x"}
    assert result.url == url
    assert bytes(fake.only().data) == DATA
