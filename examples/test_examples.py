"""Each program under examples/ runs as a user would run it, against a loopback server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from examples.conftest import EXAMPLES, RunServer, run_example
from tuskit_client import Client, ResponseError
from tuskit_server import Hooks, Resource, setup_tus

TOKEN = "s3cret-token"


async def test_token_server_refuses_without_the_token_and_accepts_with_it(
    tmp_path: Path, run_server: RunServer
) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(os.urandom(300_000))
    async with run_server("token_auth_server.py", tmp_path / "up", {"TUS_TOKEN": TOKEN}) as url:
        async with aiohttp.ClientSession() as session:
            async with session.options(url) as answer:  # preflights are not decorated
                assert answer.status == 200
            headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "1"}
            async with session.post(url, headers=headers) as answer:
                assert answer.status == 401
            wrong = {**headers, "Authorization": "Bearer wrong"}
            async with session.post(url, headers=wrong) as answer:
                assert answer.status == 401
        async with Client(url) as client:
            with pytest.raises(ResponseError) as refused:
                await client.upload(source)
        assert refused.value.status == 401
        async with Client(url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            result = await client.upload(source, metadata={"filename": b"report.pdf"})
        assert str(result.url).startswith(url)
    assert (tmp_path / "up" / "report.pdf").read_bytes() == source.read_bytes()


async def test_resumable_client_uploads_with_the_token_and_draws_its_bar(
    tmp_path: Path, run_server: RunServer
) -> None:
    source = tmp_path / "video.bin"
    source.write_bytes(os.urandom(3 << 20))
    async with run_server("token_auth_server.py", tmp_path / "up", {"TUS_TOKEN": TOKEN}) as url:
        code, out, err = await run_example(
            "resumable_client.py",
            url,
            str(source),
            "--token",
            TOKEN,
            "--store",
            str(tmp_path / "store.json"),
            "--chunk-size",
            str(1 << 20),
        )
    assert code == 0, err
    assert out.strip().startswith(url)
    assert "100 %" in err
    assert "resuming" not in err
    assert (tmp_path / "up" / "video.bin").read_bytes() == source.read_bytes()


async def test_resumable_client_resumes_after_being_killed(tmp_path: Path) -> None:
    """The first run is killed while the server holds its first PATCH (its upload URL is
    stored by then); the second run resumes from the server's offset instead of starting
    over."""
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(4 << 20))
    first_chunk = asyncio.Event()
    release = asyncio.Event()
    created: list[str] = []
    held_at: list[int] = []

    async def post_create(request: web.Request, resource: Resource) -> None:
        created.append(resource.id)

    async def post_receive(request: web.Request, resource: Resource) -> None:
        if request.method == "PATCH" and not release.is_set():
            held_at.append(resource.offset)
            first_chunk.set()
            await release.wait()

    app = web.Application()
    hooks = Hooks(post_create=post_create, post_receive=post_receive)
    setup_tus(app, upload_path=tmp_path / "up", upload_url="/files", hooks=hooks, splice_min=None)
    store = str(tmp_path / "store.json")
    async with TestServer(app, host="127.0.0.1") as server:
        url = str(server.make_url("/files/"))
        args = ["--store", store, "--chunk-size", str(1 << 20)]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "resumable_client.py"),
            url,
            str(source),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await asyncio.wait_for(first_chunk.wait(), 60)
        process.send_signal(signal.SIGKILL)
        await process.communicate()
        release.set()
        code, out, err = await run_example("resumable_client.py", url, str(source), *args)
    assert code == 0, err
    assert 0 < held_at[0] < source.stat().st_size
    assert f"resuming {url}{created[0]} at byte {held_at[0]}" in err, err
    assert len(created) == 1  # the second run created nothing: it resumed
    assert out.strip().endswith(created[0])
    assert (tmp_path / "up" / "big.bin").read_bytes() == source.read_bytes()


async def test_browser_page_is_served_and_its_server_accepts_uploads(
    tmp_path: Path, run_server: RunServer
) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(os.urandom(2 << 20))
    async with run_server("browser_upload_server.py", tmp_path / "up") as url:
        page_url = url.removesuffix("files/")
        async with aiohttp.ClientSession() as session, session.get(page_url) as answer:
            assert answer.status == 200
            assert answer.content_type == "text/html"
            page = await answer.text()
        assert page == (EXAMPLES / "browser" / "index.html").read_text()
        assert 'const endpoint = "/files/";' in page
        async with Client(url) as client:
            await client.upload(source, metadata={"filename": b"photo.jpg"})
    assert (tmp_path / "up" / "photo.jpg").read_bytes() == source.read_bytes()
