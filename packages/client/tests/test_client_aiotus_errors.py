"""The low-level calls fail the way code written for aiotus expects: statuses as
``aiohttp.ClientResponseError``, transport failures as aiohttp's own errors, and aiotus's
wording for malformed answers and bad metadata."""

import io
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from tuskit_client import Client, ProtocolError, RetryConfiguration, TransportError, core, creation

Serve = Callable[[str, str, int, Mapping[str, str]], Awaitable[URL]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve one route that always answers ``status`` with ``headers``."""
    servers: list[TestServer] = []

    async def start(method: str, path: str, status: int, headers: Mapping[str, str]) -> URL:
        async def handler(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(status=status, headers=dict(headers))

        app = web.Application()
        app.router.add_route(method, path, handler)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return server.make_url(path)

    yield start
    for server in servers:
        await server.close()


async def test_a_status_error_is_an_aiohttp_client_response_error(serve: Serve) -> None:
    url = await serve("HEAD", "/files/x", 404, {})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await core.offset(session, url)
    assert info.value.status == 404
    assert "Not Found" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, 'HTTP header "Upload-Offset" not included in server response'),
        ({"Upload-Offset": "xyz"}, 'Unable to convert "Upload-Offset" header'),
        ({"Upload-Offset": "-1"}, 'Unable to convert "Upload-Offset" header'),
    ],
)
async def test_a_bad_offset_is_a_protocol_error_in_aiotus_words(
    serve: Serve, headers: Mapping[str, str], message: str
) -> None:
    url = await serve("HEAD", "/files/x", 200, headers)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ProtocolError, match=message):
            await core.offset(session, url)


async def test_metadata_needs_no_offset(serve: Serve) -> None:
    plain = await serve("HEAD", "/files/a", 200, {"Tus-Resumable": "1.0.0"})
    valid = await serve("HEAD", "/files/b", 200, {"Upload-Metadata": "k1, k2 dmFsdWU="})
    broken = await serve("HEAD", "/files/c", 200, {"Upload-Metadata": "k1 djE"})
    async with aiohttp.ClientSession() as session:
        assert await core.metadata(session, plain) == {}
        assert await core.metadata(session, valid) == {"k1": None, "k2": b"value"}
        with pytest.raises(ProtocolError, match="Unable to parse metadata"):
            await core.metadata(session, broken)


async def test_configuration_keeps_the_servers_order_and_unknown_extensions(
    serve: Serve,
) -> None:
    headers = {"Tus-Version": "1.0.0,0.9.9", "Tus-Extension": "creation,x-vendor,checksum"}
    url = await serve("OPTIONS", "/files/", 204, headers)
    missing = await serve("OPTIONS", "/nothing/", 404, {})
    async with aiohttp.ClientSession() as session:
        config = await core.configuration(session, url)
        with pytest.raises(aiohttp.ClientResponseError):
            await core.configuration(session, missing)
    assert config.protocol_versions == ["1.0.0", "0.9.9"]
    assert config.protocol_extensions == ["creation", "x-vendor", "checksum"]


async def test_creation_statuses_and_location(serve: Serve) -> None:
    ok = await serve("POST", "/ok/", 200, {})
    bad = await serve("POST", "/bad/", 400, {})
    nowhere = await serve("POST", "/nowhere/", 201, {})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ProtocolError, match="Wrong status code"):
            await creation.create(session, ok, io.BytesIO(b"x"))
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await creation.create(session, bad, io.BytesIO(b"x"))
        assert info.value.status == 400
        assert "Bad Request" in str(info.value)
        with pytest.raises(ProtocolError, match='no "Location" header'):
            await creation.create(session, nowhere, io.BytesIO(b"x"))


async def test_low_level_calls_let_aiohttps_connection_errors_out() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await creation.create(session, URL("http://127.0.0.1:9/files/"), io.BytesIO(b"x"))
    assert not isinstance(info.value, TransportError)


async def test_the_clients_transport_error_is_also_an_aiohttp_client_error() -> None:
    config = RetryConfiguration(retry_attempts=1)
    async with Client("http://127.0.0.1:9/files/", config=config) as client:
        with pytest.raises(aiohttp.ClientError) as info:
            await client.upload(b"abc")
    assert isinstance(info.value, TransportError)


@pytest.mark.parametrize(
    ("metadata", "error", "message"),
    [
        ({"k²": b"v"}, ValueError, "ASCII characters"),
        ({"k 2": b"v"}, ValueError, "spaces"),
        ({"k2,": b"v"}, ValueError, "commas"),
        ({"k": "v"}, TypeError, "bytes-like object is required"),
    ],
)
async def test_bad_metadata_fails_before_the_request_is_built(
    metadata: dict[str, bytes], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await creation.create(None, None, io.BytesIO(b"x"), metadata)  # type: ignore[arg-type]


async def test_the_clients_metadata_needs_no_offset_either(serve: Serve) -> None:
    url = await serve("HEAD", "/files/a", 200, {"Upload-Metadata": "k dg=="})
    async with Client(config=RetryConfiguration(retry_attempts=1)) as client:
        assert await client.metadata(url) == {"k": b"v"}
        with pytest.raises(ProtocolError, match="Upload-Offset"):
            await client.info(url)  # the offset is what info() is for
