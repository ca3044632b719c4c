"""Over a real socket: Expect: 100-continue early answers, and a client that disconnects
mid-PATCH (every byte received is kept and HEAD reports it)."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer
from tus_server_testing import (
    OCTET,
    TUS,
    Client,
    checksum,
    create,
    offset_of,
    open_raw,
    raw_head,
    raw_patch_head,
    read_status,
)

from tuskit_server import setup_tus

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def auth(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer ok":
            raise web.HTTPForbidden(text="no entry")
        return await handler(request)

    return wrapped


async def _server(aiohttp_server: AiohttpServer, tmp_path: Path, **kwargs: Any) -> TestServer:
    app = web.Application()
    kwargs.setdefault("file_names", "id")  # the tests look at the store's own files
    setup_tus(app, upload_path=tmp_path / "up", max_size=100, lock_timeout=2.0, **kwargs)
    return await aiohttp_server(app)


async def _created(server: TestServer, aiohttp_client: AiohttpClient) -> tuple[Client, str]:
    client: Client = await aiohttp_client(server, headers={"Authorization": "Bearer ok"})  # type: ignore[assignment]
    return client, await create(client, 50)


PATCH_CASES = [
    ("ok", {}, 100),
    ("version", {"Tus-Resumable": ""}, 412),
    ("media type", {"Content-Type": "text/plain"}, 415),
    ("auth", {"Authorization": "Bearer bad"}, 403),
    ("offset", {"Upload-Offset": "7"}, 409),
    ("too long", {"Content-Length": "51"}, 413),
    ("checksum algorithm", {"Upload-Checksum": "md4 AAAA"}, 400),
    ("unknown id", {"path": "/uploads/" + "e" * 32}, 404),
    ("bad id", {"path": "/uploads/..%2F..%2Fetc"}, 404),
    ("override", {"method": "POST", "X-HTTP-Method-Override": "PATCH", "Upload-Offset": "9"}, 409),
]


@pytest.mark.parametrize(("name", "change", "status"), PATCH_CASES, ids=[c[0] for c in PATCH_CASES])
async def test_expect_continue_patch(
    aiohttp_server: AiohttpServer,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    name: str,
    change: dict[str, str],
    status: int,
) -> None:
    server = await _server(aiohttp_server, tmp_path, decorator=auth)
    client, path = await _created(server, aiohttp_client)
    change = dict(change)
    method = change.pop("method", "PATCH")
    target = change.pop("path", path)
    headers = {
        **TUS,
        "Authorization": "Bearer ok",
        "Content-Type": OCTET,
        "Upload-Offset": "0",
        "Content-Length": "5",
        "Expect": "100-continue",
        "Origin": "https://app.example",
        **change,
    }
    reader, writer = await open_raw(server)
    writer.write(raw_head(method, target, {k: v for k, v in headers.items() if v}))
    await writer.drain()
    got, text = await read_status(reader)  # no body byte has been sent yet
    assert got == status, text
    if status == 100:
        writer.write(b"hello")
        final, text = await read_status(reader)
        assert final == 204, text
        assert await offset_of(client, path) == 5
    else:
        assert "Tus-Resumable: 1.0.0" in text
        assert "Access-Control-Allow-Origin: https://app.example" in text
        if status == 412:
            assert "Tus-Version: 1.0.0" in text
        if status == 409:
            assert "Upload-Offset: 0" in text
        assert await offset_of(client, path) == 0
    writer.close()


POST_CASES = [
    ("ok", {}, 100),
    ("too large", {"Upload-Length": "101"}, 413),
    ("body over length", {"Content-Length": "11"}, 413),
    ("bad metadata", {"Upload-Metadata": "a,a"}, 400),
    ("version", {"Tus-Resumable": "3"}, 412),
    ("auth", {"Authorization": ""}, 403),
]


@pytest.mark.parametrize(("name", "change", "status"), POST_CASES, ids=[c[0] for c in POST_CASES])
async def test_expect_continue_post(
    aiohttp_server: AiohttpServer, tmp_path: Path, name: str, change: dict[str, str], status: int
) -> None:
    server = await _server(aiohttp_server, tmp_path, decorator=auth)
    headers = {
        **TUS,
        "Authorization": "Bearer ok",
        "Content-Type": OCTET,
        "Upload-Length": "10",
        "Content-Length": "3",
        "Expect": "100-continue",
        **change,
    }
    reader, writer = await open_raw(server)
    writer.write(raw_head("POST", "/uploads", {k: v for k, v in headers.items() if v}))
    await writer.drain()
    got, text = await read_status(reader)
    assert got == status, text
    if status == 100:
        writer.write(b"abc")
        final, text = await read_status(reader)
        assert final == 201, text
        assert "Upload-Offset: 3" in text
    writer.close()


async def test_expect_other_value_is_417(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    server = await _server(aiohttp_server, tmp_path)
    reader, writer = await open_raw(server)
    headers = {**TUS, "Upload-Length": "1", "Content-Length": "0", "Expect": "teapot"}
    writer.write(raw_head("POST", "/uploads", headers))
    got, text = await read_status(reader)
    assert got == 417
    assert "Tus-Resumable: 1.0.0" in text
    writer.close()


async def test_disconnect_mid_patch_keeps_bytes(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    server = await _server(aiohttp_server, tmp_path)
    client, path = await _created(server, aiohttp_client)
    _, writer = await open_raw(server)
    writer.write(raw_patch_head(path, 50) + b"x" * 20)
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.write(b"y" * 10)
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        if await offset_of(client, path) == 30:
            break
        await asyncio.sleep(0.02)
    assert await offset_of(client, path) == 30
    data = (tmp_path / "up" / path.rsplit("/", 1)[1]).read_bytes()
    assert data == b"x" * 20 + b"y" * 10
    # the upload resumes where the bytes end
    response = await client.patch(
        path,
        headers={**TUS, "Upload-Offset": "30", "Content-Type": OCTET},
        data=b"z" * 20,
    )
    assert response.status == 204
    assert response.headers["Upload-Offset"] == "50"


async def test_disconnect_mid_checksummed_patch_keeps_nothing(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    server = await _server(aiohttp_server, tmp_path)
    client, path = await _created(server, aiohttp_client)
    _, writer = await open_raw(server)
    writer.write(
        raw_patch_head(path, 50, extra={"Upload-Checksum": checksum(b"q" * 50)}) + b"q" * 20
    )
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.2)
    assert await offset_of(client, path) == 0
    assert (tmp_path / "up" / path.rsplit("/", 1)[1]).stat().st_size == 0


async def test_stalled_body_times_out_with_500_and_keeps_bytes(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    server = await _server(aiohttp_server, tmp_path, idle_timeout=0.2)
    client, path = await _created(server, aiohttp_client)
    reader, writer = await open_raw(server)
    writer.write(raw_patch_head(path, 50) + b"s" * 12)
    await writer.drain()
    status, text = await read_status(reader)  # the server gives up on the stalled body
    assert status == 500, text
    assert "Connection: close" in text
    writer.close()
    assert await offset_of(client, path) == 12


async def test_expect_continue_gone_upload_is_410(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    server = await _server(aiohttp_server, tmp_path)
    client, path = await _created(server, aiohttp_client)
    assert (await client.delete(path, headers=TUS)).status == 204
    reader, writer = await open_raw(server)
    writer.write(raw_patch_head(path, 5, extra={"Expect": "100-continue"}))
    await writer.drain()
    status, text = await read_status(reader)
    assert status == 410, text
    writer.close()
