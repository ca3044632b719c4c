"""What reaches the server with every upload request: progress reports, the caller's
session, extra headers, the ssl argument, and a plain upload to a server without OPTIONS."""

import pytest
from fake_tus import ServerFactory
from upload_inputs import DATA, MakeClient

from tuskit_client import CapabilityError, Client, RetryConfiguration


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
