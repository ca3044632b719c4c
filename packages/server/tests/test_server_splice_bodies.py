"""Large bodies moved by the kernel through the server (``splice_min``): the bytes on disk are
exactly the bytes sent, whatever aiohttp had buffered, and bodies that must not be poured
(checksums, small ones) keep the connection."""

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from splice_testing import MiB, Serve, _data, _started, _stored
from tus_server_testing import (
    OCTET,
    TUS,
    checksum,
    create,
    offset_of,
    open_raw,
    patch,
    raw_patch_head,
    read_status,
)

from tuskit_server._kernel_copy import splice as _splice

pytestmark = pytest.mark.skipif(not _splice.AVAILABLE, reason="splice is Linux-only")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def test_large_patches_land_exactly_and_close_the_connection(
    serve: Serve, tmp_path: Path
) -> None:
    _, client = await serve()
    body = _data(5 * MiB + 11)
    path = await create(client, len(body))
    first = await patch(client, path, 0, io.BytesIO(body[: 3 * MiB]))
    assert first.status == 204
    assert first.headers["Upload-Offset"] == str(3 * MiB)
    assert first.headers["Connection"] == "close"
    # the next PATCH goes over a new connection, made by the client as usual
    second = await patch(client, path, 3 * MiB, io.BytesIO(body[3 * MiB :]))
    assert second.status == 204
    assert second.headers["Upload-Offset"] == str(len(body))
    assert _stored(tmp_path, path) == body
    assert await offset_of(client, path) == len(body)


@pytest.mark.parametrize(
    ("options", "extra"),
    [
        ({"splice_min": None}, {}),
        ({}, {"Upload_Checksum": "computed below"}),
        ({"splice_min": 8 * MiB}, {}),
    ],
    ids=["off", "checksum", "below threshold"],
)
async def test_other_bodies_keep_the_connection(
    serve: Serve,
    tmp_path: Path,
    options: dict[str, Any],
    extra: dict[str, str],
) -> None:
    _, client = await serve(**options)
    body = _data(2 * MiB)
    path = await create(client, len(body))
    if extra:
        extra = {"Upload_Checksum": checksum(body)}
    response = await patch(client, path, 0, io.BytesIO(body), **extra)
    assert response.status == 204
    assert "Connection" not in response.headers
    assert _stored(tmp_path, path) == body


async def test_creation_with_upload_pours_too(serve: Serve, tmp_path: Path) -> None:
    _, client = await serve()
    body = _data(2 * MiB, seed=5)
    response = await client.post(
        "/uploads",
        headers={**TUS, "Upload-Length": str(len(body)), "Content-Type": OCTET},
        data=io.BytesIO(body),
    )
    assert response.status == 201
    assert response.headers["Upload-Offset"] == str(len(body))
    assert response.headers["Connection"] == "close"
    assert _stored(tmp_path, response.headers["Location"]) == body


def _late(handler: Handler) -> Handler:
    """A decorator that lets the whole body arrive (and fill aiohttp's buffers, pausing its
    parser) before the handler runs."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        if request.method == "PATCH":
            await asyncio.sleep(0.3)
        return await handler(request)

    return wrapped


@pytest.mark.parametrize("read_bufsize", [2**10, 2**16, 2**20])
async def test_bytes_aiohttp_buffered_come_first(
    serve: Serve,
    tmp_path: Path,
    read_bufsize: int,
) -> None:
    server, client = await serve(read_bufsize=read_bufsize, decorator=_late, splice_min=1)
    body = _data(3 * MiB, seed=read_bufsize)
    path, reader, writer = await _started(server, client, body, len(body))
    status, text = await read_status(reader)
    writer.close()
    assert status == 204, text
    assert "Connection: close" in text
    assert _stored(tmp_path, path) == body


async def test_expect_continue_then_a_poured_body(serve: Serve, tmp_path: Path) -> None:
    server, client = await serve()
    body = _data(3 * MiB, seed=9)
    path = await create(client, len(body))
    reader, writer = await open_raw(server)
    writer.write(raw_patch_head(path, len(body), extra={"Expect": "100-continue"}))
    await writer.drain()
    status, text = await read_status(reader)
    assert status == 100, text
    writer.write(body)
    await writer.drain()
    status, text = await read_status(reader)
    writer.close()
    assert status == 204, text
    assert "Connection: close" in text
    assert _stored(tmp_path, path) == body
