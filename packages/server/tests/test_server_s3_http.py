"""tus over HTTP on an S3Store: downloads streamed with Range, where the finished object is
told to on_upload_done and hooks, and the checksum extension."""

import io
import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from tus_s3_testing import S3Target
from tus_server_testing import TUS, Client, checksum, create, offset_of, patch

from tuskit_common import Resource
from tuskit_server import setup_tus
from tuskit_server.hooks import Hooks
from tuskit_server.stores.s3 import S3Store

MIB = 1024 * 1024


async def s3_client(aiohttp_client: AiohttpClient, s3: S3Target, **kwargs: Any) -> Client:
    bucket, prefix = await s3.fresh()
    app = web.Application()
    setup_tus(app, store=S3Store(bucket, prefix, **s3.store_kwargs()), **kwargs)
    return await aiohttp_client(app)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, s3: S3Target) -> Client:
    return await s3_client(aiohttp_client, s3)


async def test_download_whole_and_ranges(client: Client) -> None:
    data = os.urandom(6 * MIB + 5)
    path = await create(client, len(data), headers={"Upload-Metadata": "filetype dGV4dC9wbGFpbg=="})
    assert (await patch(client, path, 0, io.BytesIO(data))).status == 204
    whole = await client.get(path)
    assert whole.status == 200
    assert whole.headers["Content-Type"].startswith("text/plain")
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert await whole.read() == data
    part = await client.get(path, headers={"Range": f"bytes={MIB}-{2 * MIB - 1}"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes {MIB}-{2 * MIB - 1}/{len(data)}"
    assert await part.read() == data[MIB : 2 * MIB]
    suffix = await client.get(path, headers={"Range": "bytes=-3"})
    assert (suffix.status, await suffix.read()) == (206, data[-3:])
    past = await client.get(path, headers={"Range": f"bytes={len(data)}-"})
    assert past.status == 416
    assert past.headers["Content-Range"] == f"bytes */{len(data)}"


async def test_unfinished_upload_is_not_downloadable(client: Client) -> None:
    path = await create(client, 10)
    await patch(client, path, 0, b"abc")
    assert (await client.get(path)).status == 404


async def test_empty_upload_downloads_empty(client: Client) -> None:
    path = await create(client, 0)
    response = await client.get(path)
    assert (response.status, await response.read()) == (200, b"")


async def test_finished_object_is_named_to_on_upload_done_and_hooks(
    aiohttp_client: AiohttpClient, s3: S3Target
) -> None:
    done: list[tuple[Resource, Path | None]] = []
    finished: list[Resource] = []

    async def on_done(request: web.Request, resource: Resource, path: Path | None) -> None:
        done.append((resource, path))

    async def post_finish(request: web.Request, resource: Resource) -> None:
        finished.append(resource)

    client = await s3_client(
        aiohttp_client, s3, on_upload_done=on_done, hooks=Hooks(post_finish=post_finish)
    )
    path = await create(client, 3)
    await patch(client, path, 0, b"abc")
    ((resource, file_path),) = done
    assert file_path is None
    assert resource.storage["Type"] == "s3store"
    assert isinstance(resource.storage["Bucket"], str)
    assert str(resource.storage["Key"]).endswith(resource.id)
    assert finished[0].storage == resource.storage


async def test_checksum_mismatch_keeps_the_offset(client: Client) -> None:
    path = await create(client, 10)
    bad = await patch(client, path, 0, b"abcd", Upload_Checksum=checksum(b"abce"))
    assert bad.status == 460
    assert await offset_of(client, path) == 0
    good = await patch(client, path, 0, b"abcd", Upload_Checksum=checksum(b"abcd"))
    assert good.status == 204
    assert await offset_of(client, path) == 4


async def test_options_advertise_every_filestore_extension(client: Client) -> None:
    response = await client.options("/uploads", headers=TUS)
    advertised = set(response.headers["Tus-Extension"].split(","))
    assert advertised >= {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "checksum",
        "termination",
        "concatenation",
        "concatenation-unfinished",
        "expiration",
    }


async def test_an_object_removed_behind_the_store_is_404_before_any_byte(
    aiohttp_client: AiohttpClient, s3: S3Target
) -> None:
    bucket, prefix = await s3.fresh()
    store = S3Store(bucket, prefix, **s3.store_kwargs())
    app = web.Application()
    setup_tus(app, store=store)
    client = await aiohttp_client(app)
    path = await create(client, 3)
    await patch(client, path, 0, b"abc")
    await store.bucket.delete(store.keys(path.rsplit("/", 1)[1]).data)
    response = await client.get(path)
    assert response.status == 404
    assert "missing" in await response.text()
