"""aiohttp-tus compatibility: named URLs, several setups, decorator, callback, route names."""

from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from tus_server_testing import TUS, Clock, create, offset_of, patch

from tuskit_common import Resource
from tuskit_server import MemoryStore, TusConfig, create_app, get_tus, setup_tus
from tuskit_server._config import Handler
from tuskit_server._expiry import sweep
from tuskit_server._setup import ENDPOINTS_KEY


async def test_named_upload_urls_format_the_path(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    app = web.Application()
    setup_tus(app, upload_url="/users/{username}/uploads", upload_path=tmp_path / "{username}")
    client = await aiohttp_client(app)
    alice = await create(client, 3, url="/users/alice/uploads")
    assert alice.startswith("/users/alice/uploads/")
    await patch(client, alice, 0, b"abc")
    upload_id = alice.rsplit("/", 1)[1]
    assert (tmp_path / "alice" / upload_id).read_bytes() == b"abc"
    # the same id under another user's URL is another user's namespace
    assert (await client.head(f"/users/bob/uploads/{upload_id}", headers=TUS)).status == 404
    # another user's partial cannot be concatenated
    part = await create(client, 1, url="/users/alice/uploads", headers={"Upload-Concat": "partial"})
    response = await client.post(
        "/users/bob/uploads", headers={**TUS, "Upload-Concat": f"final;{part}"}
    )
    assert response.status == 400
    dots = await client.post("/users/../uploads", headers={**TUS, "Upload-Length": "1"})
    assert dots.status in (404, 405)
    # requests that create nothing leave no directory behind
    assert (await client.head(f"/users/mallory/uploads/{upload_id}", headers=TUS)).status == 404
    assert _names(tmp_path) == ["alice"]


def _names(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


async def test_named_upload_paths_are_swept(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    clock = Clock()
    app = web.Application()
    setup_tus(
        app,
        upload_url="/users/{username}/uploads",
        upload_path=tmp_path / "{username}" / "files",
        clock=clock,
        expiration=timedelta(hours=1),
    )
    client = await aiohttp_client(app)
    a = await create(client, 3, url="/users/alice/uploads")
    b = await create(client, 3, url="/users/bob/uploads")
    clock.advance(hours=2)
    assert await sweep(app[ENDPOINTS_KEY]["/users/{username}/uploads"]) == 2
    for path in (a, b):
        assert (await client.head(path, headers=TUS)).status == 410


async def test_several_setups_and_trailing_slash(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    app = web.Application()
    setup_tus(app, upload_url="/a", upload_path=tmp_path / "a")
    setup_tus(app, upload_url="/b/", store=MemoryStore())
    with pytest.raises(ValueError, match="already"):
        setup_tus(app, upload_url="/a/", upload_path=tmp_path / "c")
    client = await aiohttp_client(app)
    a = await create(client, 1, url="/a/")
    b = await create(client, 1, url="/b")
    assert a.startswith("/a/")
    assert b.startswith("/b/")
    assert (await client.head(b.replace("/b/", "/a/"), headers=TUS)).status == 404
    configs = get_tus(app)
    assert set(configs) == {"/a", "/b/"}  # canonical URLs, trailing slash as given
    assert isinstance(configs["/a"], TusConfig)


def test_get_tus_without_setup() -> None:
    with pytest.raises(RuntimeError, match="setup_tus"):
        get_tus(web.Application())


def test_setup_needs_path_or_store() -> None:
    with pytest.raises(ValueError, match="upload_path"):
        setup_tus(web.Application())
    with pytest.raises(ValueError, match="sha1"):
        setup_tus(web.Application(), upload_path="x", checksum_algorithms=["md5"])
    with pytest.raises(ValueError, match="unsupported"):
        setup_tus(web.Application(), upload_path="x", checksum_algorithms=["sha1", "sha3"])


async def test_decorator_wraps_every_view_but_options(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    seen: list[str] = []

    def decorator(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            seen.append(request.method)
            if request.headers.get("Authorization") != "secret":
                raise web.HTTPUnauthorized(text="who are you")
            return await handler(request)

        return wrapped

    app = web.Application()
    setup_tus(app, upload_path=tmp_path, decorator=decorator)
    client = await aiohttp_client(app)
    assert (await client.options("/uploads")).status == 200
    denied = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert denied.status == 401
    assert denied.headers["Tus-Resumable"] == "1.0.0"
    path = await create(client, 1, headers={"Authorization": "secret"})
    override = await client.post(path, headers={**TUS, "X-HTTP-Method-Override": "HEAD"})
    assert override.status == 401
    for method in ("HEAD", "PATCH", "DELETE", "GET"):
        assert (await client.request(method, path, headers=TUS)).status == 401
    assert seen == ["POST", "POST", "HEAD", "HEAD", "PATCH", "DELETE", "GET"]


async def test_on_upload_done_gets_resource_and_path(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    got: list[tuple[str, int | None, str | None, Path | None]] = []

    async def on_done(request: web.Request, resource: Resource, file_path: Path | None) -> None:
        got.append((request.method, resource.file_size, resource.file_name, file_path))

    app = web.Application()
    setup_tus(app, upload_path=tmp_path, on_upload_done=on_done)
    client = await aiohttp_client(app)
    path = await create(client, 2, headers={"Upload-Metadata": "filename YS50eHQ="})
    await patch(client, path, 0, b"hi")
    assert got == [("PATCH", 2, "a.txt", tmp_path / "a.txt")]  # named files (the default)
    assert (tmp_path / "a.txt").read_bytes() == b"hi"


async def test_resource_names(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path, upload_url="/files", upload_resource_name="files")
    assert str(app.router["files"].url_for()) == "/files"
    assert str(app.router["files_resource"].url_for(id="abc")) == "/files/abc"


async def test_custom_json_codec(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    import json

    calls: list[str] = []

    def dumps(value: object) -> str:
        calls.append("dumps")
        return json.dumps(value, indent=1)

    app = web.Application()
    setup_tus(app, upload_path=tmp_path, json_dumps=dumps)
    client = await aiohttp_client(app)
    path = await create(client, 1)
    assert calls
    assert "\n" in (tmp_path / ".tus" / (path.rsplit("/", 1)[1] + ".info")).read_text()


async def test_create_app_for_the_cli(aiohttp_client: AiohttpClient, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(upload_path=tmp_path, upload_url="/files/"))
    path = await create(client, 1, url="/files/")
    assert await offset_of(client, path) == 0
