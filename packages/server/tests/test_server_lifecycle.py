"""Restart-and-resume, expiration with an injected clock, and shutdown mid-PATCH (503)."""

import asyncio
import errno
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tus_server_testing import OCTET, TUS, Clock, MakeClient, create, offset_of, patch

from tuskit_server import Expiration, setup_tus
from tuskit_server._expiry import run_sweeper, sweep
from tuskit_server._setup import ENDPOINTS_KEY


def _app(root: Path, clock: Clock, **kwargs: object) -> web.Application:
    app = web.Application()
    # the store's own files are looked at: tusd's layout (named files have their own tests)
    setup_tus(app, upload_path=root, clock=clock, file_names="id", **kwargs)  # type: ignore[arg-type]
    return app


async def test_restart_and_resume(tmp_path: Path, clock: Clock) -> None:
    async with TestClient(TestServer(_app(tmp_path, clock))) as first:
        path = await create(first, 6, headers={"Upload-Metadata": "k"})
        assert (await patch(first, path, 0, b"abc")).status == 204
    # a new application over the same directory, as after a restart
    async with TestClient(TestServer(_app(tmp_path, clock))) as second:
        head = await second.head(path, headers=TUS)
        assert head.status == 200
        assert head.headers["Upload-Offset"] == "3"
        assert head.headers["Upload-Metadata"] == "k"
        response = await patch(second, path, 3, b"def")
        assert response.status == 204
        assert (await second.get(path)).status == 200
        assert await (await second.get(path)).read() == b"abcdef"


async def test_restart_drops_a_cut_checksummed_chunk(tmp_path: Path, clock: Clock) -> None:
    async with TestClient(TestServer(_app(tmp_path, clock))) as first:
        path = await create(first, 6)
        assert (await patch(first, path, 0, b"abc")).status == 204
    upload_id = path.rsplit("/", 1)[1]
    # simulate a crash in the middle of a checksummed chunk: marker recorded, bytes half-written
    info = tmp_path / f"{upload_id}.info"
    record = json.loads(info.read_text())
    record["storage"] = {"chunk_start": 3}
    info.write_text(json.dumps(record))
    with (tmp_path / upload_id).open("ab") as handle:
        handle.write(b"de")
    async with TestClient(TestServer(_app(tmp_path, clock))) as second:
        assert await offset_of(second, path) == 3
    assert (tmp_path / upload_id).read_bytes() == b"abc"


async def test_offset_comes_from_the_bytes_on_disk(tmp_path: Path, clock: Clock) -> None:
    async with TestClient(TestServer(_app(tmp_path, clock))) as client:
        path = await create(client, 6)
        upload_id = path.rsplit("/", 1)[1]
        (tmp_path / upload_id).write_bytes(b"ab")  # info still says 0
        assert await offset_of(client, path) == 2


async def test_expiration(make_client: MakeClient, clock: Clock) -> None:
    client = await make_client(
        expiration=Expiration(after=timedelta(hours=1), tombstone_ttl=timedelta(hours=2))
    )
    idle = await create(client, 10)
    active = await create(client, 10)
    finished = await create(client, 2)
    assert (await patch(client, finished, 0, b"ok")).status == 204
    clock.advance(minutes=50)
    response = await patch(client, active, 0, b"abc")
    assert response.headers["Upload-Expires"] == "Tue, 01 Jan 2030 13:50:00 GMT"
    clock.advance(minutes=20)
    # expired but not yet swept: already 410
    assert (await client.head(idle, headers=TUS)).status == 410
    endpoint = client.app[ENDPOINTS_KEY]["/uploads"]
    assert await sweep(endpoint) == 1
    assert (await client.head(idle, headers=TUS)).status == 410
    assert (await patch(client, idle, 0, b"x")).status == 410
    assert await offset_of(client, active) == 3
    assert await offset_of(client, finished) == 2  # finished uploads never expire
    clock.advance(hours=3)
    await sweep(endpoint)  # active expires now too; idle's tombstone is forgotten
    assert (await client.head(idle, headers=TUS)).status == 404
    assert (await client.head(active, headers=TUS)).status == 410
    assert await offset_of(client, finished) == 2


async def test_sweeper_task_runs_in_background(make_client: MakeClient, clock: Clock) -> None:
    client = await make_client(
        expiration=Expiration(after=timedelta(seconds=1), sweep_interval=timedelta(seconds=0.02))
    )
    path = await create(client, 10)
    upload_id = path.rsplit("/", 1)[1]
    clock.advance(seconds=5)
    root = Path(client.app[ENDPOINTS_KEY]["/uploads"].config.upload_path)  # type: ignore[arg-type]
    for _ in range(200):
        if (root / f"{upload_id}.gone").exists() and not (root / upload_id).exists():
            break
        await asyncio.sleep(0.01)
    assert (root / f"{upload_id}.gone").exists()
    assert not (root / upload_id).exists()


async def test_sweeper_logs_an_os_error_as_one_line_and_goes_on(
    make_client: MakeClient, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(
        expiration=Expiration(after=timedelta(seconds=1), sweep_interval=timedelta(seconds=0.01))
    )
    endpoint = client.app[ENDPOINTS_KEY]["/uploads"]
    expirer = (await endpoint.stores())[0].expirer
    assert expirer is not None
    calls = 0
    third = asyncio.Event()

    async def exhausted(before: object) -> int:
        nonlocal calls
        calls += 1
        if calls == 3:
            third.set()
        raise OSError(errno.EMFILE, "Too many open files")

    expirer.forget = exhausted  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="tuskit_server"):
        task = asyncio.create_task(run_sweeper(endpoint))
        await asyncio.wait_for(third.wait(), 5)
        task.cancel()
    failures = [r for r in caplog.records if "expiration sweep failed" in r.getMessage()]
    assert len(failures) >= 2  # every pass tried again
    assert all(r.exc_info is None for r in failures)
    assert "Too many open files" in failures[0].getMessage()


async def test_expiration_off(make_client: MakeClient, clock: Clock) -> None:
    client = await make_client(expiration=None)
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "3"})
    assert "Upload-Expires" not in response.headers
    clock.advance(days=365)
    assert (
        await client.head(response.headers["Location"].split(str(client.port))[1], headers=TUS)
    ).status == 200


async def _endless(first: bytes) -> AsyncIterator[bytes]:
    yield first
    await asyncio.sleep(30)
    yield b"late"


async def test_shutdown_persists_and_answers_503(tmp_path: Path, clock: Clock) -> None:
    app = _app(tmp_path, clock)
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    try:
        path = await create(client, 100)
        upload_id = path.rsplit("/", 1)[1]
        task = asyncio.create_task(
            client.patch(
                path,
                headers={**TUS, "Upload-Offset": "0", "Content-Type": OCTET},
                data=_endless(b"s" * 7),
            )
        )
        for _ in range(200):
            await asyncio.sleep(0.01)
            if (tmp_path / upload_id).stat().st_size or app[ENDPOINTS_KEY]["/uploads"].readers:
                break
        await asyncio.sleep(0.1)
        await app.shutdown()  # what AppRunner.cleanup() runs while connections are still open
        response = await task
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        assert (tmp_path / upload_id).read_bytes() == b"s" * 7
        late = await client.post(
            "/uploads", headers={**TUS, "Upload-Length": "1", "Content-Type": OCTET}, data=b"x"
        )
        assert late.status == 503
    finally:
        await client.close()
