"""Client options beyond aiotus: method override, request ids, part metadata, info,
and logs that never show metadata values or credentials."""

import logging
import os
from collections.abc import AsyncIterator, Callable

import pytest
from fake_tus import ServerFactory

from tuskit_client import Client

DATA = os.urandom(30_000)
MakeClient = Callable[..., Client]


async def test_method_override_sends_patch_and_delete_as_post(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation", "termination"))
    async with make_client(endpoint, chunk_size=20_000, override_method=True) as client:
        result = await client.upload(DATA)
        assert bytes(fake.only().data) == DATA
        await client.delete(result.url)
    assert fake.uploads == {}
    assert fake.methods() == ["OPTIONS", "POST", "POST", "POST", "POST"]
    overrides = [h.get("X-HTTP-Method-Override") for _, _, h in fake.requests]
    assert overrides == [None, None, "PATCH", "PATCH", "DELETE"]


async def test_request_ids_are_fresh_per_request(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint, chunk_size=10_000, request_id=True) as client:
        await client.upload(DATA)
    ids = [h["X-Request-ID"] for _, _, h in fake.requests]
    assert len(ids) == len(set(ids)) == len(fake.requests) == 4


async def test_part_metadata_goes_on_the_partials_only(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint) as client:
        result = await client.upload(
            DATA, parallel=2, metadata={"name": b"all"}, part_metadata={"part": None}
        )
    parts = [u for u in fake.uploads.values() if u.partial]
    assert [u.metadata for u in parts] == ["part", "part"]
    assert fake.uploads[result.url.name].metadata == "name YWxs"


async def test_info_exposes_offset_length_expiry_and_metadata(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()
    async with make_client(endpoint) as client:
        result = await client.upload(DATA, metadata={"k": b"v"})
        info = await client.info(result.url)
        caps = await client.options()
    assert info.is_complete
    assert (info.offset, info.length, info.metadata) == (len(DATA), len(DATA), {"k": b"v"})
    assert info.expires == fake.only().expires == result.expires
    assert caps.max_size is None
    assert "sha1" in caps.checksum_algorithms


async def test_logs_hold_no_metadata_values_or_credentials(
    tus_server: ServerFactory, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake, endpoint = await tus_server()
    fake.inject("PATCH", status=503)
    secret_header = {"Authorization": "Bearer s3cr3t-token"}
    with caplog.at_level(logging.DEBUG, logger="tuskit_client"):
        async with make_client(endpoint, headers=secret_header, chunk_size=10_000) as client:
            result = await client.upload(DATA, metadata={"filename": b"private-name.txt"})
            await client.metadata(result.url)
    assert caplog.records
    text = caplog.text
    assert "s3cr3t" not in text
    assert "private-name" not in text
    assert "cHJpdmF0ZS1uYW1lLnR4dA" not in text  # nor its base64 form
    assert str(result.url) in text
    formatted = [r for r in caplog.records if r.args]
    assert formatted
    assert all("%" in str(r.msg) for r in formatted)  # %-style, not pre-formatted strings


async def test_argument_validation(make_client: MakeClient) -> None:
    async with make_client(None) as client:
        with pytest.raises(ValueError, match="endpoint"):
            await client.upload(b"x")
    async with make_client("http://127.0.0.1:9/files/") as client:
        with pytest.raises(ValueError, match="parallel"):
            await client.upload(b"x", parallel=0)
    async with make_client("http://127.0.0.1:9/files/", chunk_size=None) as client:

        async def stream() -> AsyncIterator[bytes]:
            yield b"x"

        with pytest.raises(ValueError, match="chunk size"):
            await client.upload(stream())
    with pytest.raises(ValueError, match="chunk_size"):
        Client(chunk_size=0)


async def test_a_failing_progress_callback_is_raised_not_retried(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))

    def broken(sent: int, acknowledged: int, total: int | None) -> None:
        if sent > 0:
            raise RuntimeError("callback bug")

    async with make_client(endpoint, chunk_size=200_000) as client:
        with pytest.raises(RuntimeError, match="callback bug"):
            await client.upload(DATA, progress=broken)
    assert fake.methods().count("PATCH") == 1
    assert "HEAD" not in fake.methods()


async def test_a_failing_progress_callback_during_creation_with_upload(
    tus_server: ServerFactory, make_client: MakeClient
) -> None:
    fake, endpoint = await tus_server()

    def broken(sent: int, acknowledged: int, total: int | None) -> None:
        raise RuntimeError("callback bug")

    async with make_client(endpoint) as client:
        with pytest.raises(RuntimeError, match="callback bug"):
            await client.upload(DATA, progress=broken)
    assert fake.methods() == ["OPTIONS", "POST"]
