"""Named files (aiohttp-tus's layout, the default of ``setup_tus``): a finished upload's
bytes end up at ``upload_path/<filename>``, HEAD and GET keep working, names are checked."""

import errno
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from tus_server_testing import TUS, MakeClient, b64, create, offset_of, patch, path_of

from tuskit_common import NotFound, Resource
from tuskit_server import (
    FileLocker,
    FileStore,
    MemoryStore,
    TusConfig,
    create_app,
    get_tus,
    setup_tus,
)
from tuskit_server._paths import canonical_url, format_upload_path
from tuskit_server.stores.base import FilePlacer


def named(name: str | bytes) -> dict[str, str]:
    return {"Upload-Metadata": f"filename {b64(name)}"}


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def upload_id(path: str) -> str:
    return path.rsplit("/", 1)[1]


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "up"


async def test_a_finished_upload_is_its_named_file(make_client: MakeClient, uploads: Path) -> None:
    got: list[tuple[str | None, Path | None]] = []

    async def on_done(request: web.Request, resource: Resource, file_path: Path | None) -> None:
        got.append((resource.file_name, file_path))

    client = await make_client(file_names="name", on_upload_done=on_done)
    path = await create(client, 5, headers=named("hello.txt"))
    assert (uploads / ".tus" / upload_id(path)).exists()  # in progress: the store's own file
    await patch(client, path, 0, b"hel")
    assert not (uploads / "hello.txt").exists()
    assert (await patch(client, path, 3, b"lo")).status == 204
    assert (uploads / "hello.txt").read_bytes() == b"hello"
    assert got == [("hello.txt", uploads / "hello.txt")]
    assert not (uploads / ".tus" / upload_id(path)).exists()  # moved, not copied
    assert names(uploads) == [".tus", "hello.txt"]
    head = await client.head(path, headers=TUS)
    assert (head.status, head.headers["Upload-Offset"], head.headers["Upload-Length"]) == (
        200,
        "5",
        "5",
    )
    assert await (await client.get(path)).read() == b"hello"
    # an empty PATCH at the end is still answered; more bytes are refused, never a 500
    assert (await patch(client, path, 5, b"")).status == 204
    assert (await patch(client, path, 5, b"x")).status == 413


async def test_without_a_filename_the_file_is_named_by_its_id(
    make_client: MakeClient, uploads: Path
) -> None:
    client = await make_client(file_names="name")
    path = await create(client, 2, headers={"Upload-Metadata": "filetype dGV4dC9wbGFpbg=="})
    await patch(client, path, 0, b"hi")
    assert (uploads / upload_id(path)).read_bytes() == b"hi"
    empty = await create(client, 0, headers=named("empty.txt"))  # finished at creation
    assert (uploads / "empty.txt").read_bytes() == b""
    assert await offset_of(client, empty) == 0


async def test_an_existing_name_is_409_unless_overwriting_is_allowed(
    make_client: MakeClient, uploads: Path
) -> None:
    client = await make_client(file_names="name")
    path = await create(client, 1, headers=named("a.txt"))
    await patch(client, path, 0, b"1")
    again = await client.post("/uploads", headers={**TUS, "Upload-Length": "1", **named("a.txt")})
    assert again.status == 409
    assert await again.text() == "a file named 'a.txt' exists already\n"
    assert (uploads / "a.txt").read_bytes() == b"1"
    (uploads / "folder").mkdir()
    taken = await client.post("/uploads", headers={**TUS, "Upload-Length": "1", **named("folder")})
    assert taken.status == 409
    # partial uploads are never files of their own: no name check for them
    part = {**named("a.txt"), "Upload-Concat": "partial"}
    assert (
        await client.post("/uploads", headers={**TUS, "Upload-Length": "1", **part})
    ).status == 201

    client = await make_client(file_names="name", allow_overwrite_files=True)
    path = await create(client, 1, headers=named("a.txt"))
    await patch(client, path, 0, b"2")
    assert (uploads / "a.txt").read_bytes() == b"2"
    assert await (await client.get(path)).read() == b"2"


async def test_a_name_taken_while_uploading_keeps_the_id(
    make_client: MakeClient, uploads: Path
) -> None:
    paths: list[Path | None] = []

    async def on_done(request: web.Request, resource: Resource, file_path: Path | None) -> None:
        paths.append(file_path)

    client = await make_client(file_names="name", on_upload_done=on_done)
    first = await create(client, 1, headers=named("same.txt"))
    second = await create(client, 1, headers=named("same.txt"))
    await patch(client, first, 0, b"1")
    assert (await patch(client, second, 0, b"2")).status == 204
    assert (uploads / "same.txt").read_bytes() == b"1"
    assert paths == [uploads / "same.txt", uploads / ".tus" / upload_id(second)]
    assert await (await client.get(second)).read() == b"2"
    # a directory of that name cannot be replaced either, even when overwriting is allowed
    client = await make_client(file_names="name", allow_overwrite_files=True)
    third = await create(client, 1, headers=named("dir"))
    (uploads / "dir").mkdir()
    assert (await patch(client, third, 0, b"3")).status == 204
    assert (uploads / ".tus" / upload_id(third)).read_bytes() == b"3"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.txt", "holds a path separator"),
        ("a/b.txt", "holds a path separator"),
        ("a\\b.txt", "holds a path separator"),
        ("..", "starts with a dot (hidden files and .. are not accepted)"),
        (".htaccess", "starts with a dot (hidden files and .. are not accepted)"),
        (".tus", "starts with a dot (hidden files and .. are not accepted)"),
        ("nul\0.txt", "holds a control character"),
        ("bell\x07.txt", "holds a control character"),
        ("line\n.txt", "holds a control character"),
        ("gpj.\u202eexe", "holds a control character"),
        ("x" * 256, "is longer than 255 bytes"),
        ("é" * 128, "is longer than 255 bytes"),
        (b"\xff\xfe.txt", "is not UTF-8"),
    ],
)
async def test_a_filename_that_is_not_one_plain_name_is_400(
    make_client: MakeClient, uploads: Path, name: str | bytes, problem: str
) -> None:
    client = await make_client(file_names="name")
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1", **named(name)})
    assert response.status == 400
    assert await response.text() == f"the filename metadata {problem}\n"
    assert names(uploads) == [".tus"]
    assert names(uploads / ".tus") == []


async def test_plain_names_are_kept_exactly(make_client: MakeClient, uploads: Path) -> None:
    client = await make_client(file_names="name")
    for name in ("résumé 1.pdf", "x" * 255, "a..b", "名前.txt", "trailing. "):
        path = await create(client, 1, headers=named(name))
        await patch(client, path, 0, b"!")
        assert (uploads / name).read_bytes() == b"!"


async def test_a_moved_file_leaves_head_working_and_get_404(
    make_client: MakeClient, uploads: Path, tmp_path: Path
) -> None:
    client = await make_client(file_names="name")
    path = await create(client, 3, headers=named("report.csv"))
    await patch(client, path, 0, b"a,b")
    (uploads / "report.csv").rename(tmp_path / "elsewhere.csv")
    assert await offset_of(client, path) == 3  # still finished: a client must not upload again
    get = await client.get(path)
    assert get.status == 404
    assert await get.text() == "the finished file was moved away or deleted\n"
    # the name is free again
    again = await create(client, 1, headers=named("report.csv"))
    # DELETE forgets the upload; the application's file is left alone
    (tmp_path / "elsewhere.csv").rename(uploads / "report.csv")
    assert (await client.delete(path, headers=TUS)).status == 204
    assert (await client.head(path, headers=TUS)).status == 410
    assert (uploads / "report.csv").read_bytes() == b"a,b"
    assert (await patch(client, again, 0, b"x")).status == 204
    assert (uploads / ".tus" / upload_id(again)).read_bytes() == b"x"  # its name was taken


async def test_a_restarted_server_still_knows_a_placed_upload(
    make_client: MakeClient, uploads: Path
) -> None:
    client = await make_client(file_names="name")
    path = await create(client, 2, headers=named("kept.bin"))
    await patch(client, path, 0, b"ok")
    await client.close()
    client = await make_client(file_names="name")
    assert await offset_of(client, path) == 2
    assert await (await client.get(path)).read() == b"ok"


async def test_a_final_upload_is_named_its_partials_are_not(
    make_client: MakeClient, uploads: Path
) -> None:
    client = await make_client(file_names="name")
    partial = {"Upload-Concat": "partial", **named("part.txt")}
    a = await create(client, 5, headers=partial)
    b = await create(client, 6, headers=partial)
    await patch(client, a, 0, b"hello")
    final = await client.post(
        "/uploads", headers={**TUS, "Upload-Concat": f"final;{a} {b}", **named("whole.txt")}
    )
    assert final.status == 201
    await patch(client, b, 0, b" world")  # completing the last partial builds the final
    assert (uploads / "whole.txt").read_bytes() == b"hello world"
    assert not (uploads / "part.txt").exists()
    assert (uploads / ".tus" / upload_id(a)).read_bytes() == b"hello"
    assert await offset_of(client, path_of(final)) == 11


async def test_named_upload_urls_place_files_in_their_directory(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    app = web.Application()
    setup_tus(
        app, upload_url=r"/users/{username:[a-z]+}/uploads/", upload_path=tmp_path / "{username}"
    )
    client = await aiohttp_client(app)
    path = await create(client, 2, url="/users/alice/uploads/", headers=named("a.txt"))
    await patch(client, path, 0, b"hi")
    config = get_tus(app)["/users/{username}/uploads/"]
    assert (
        config.resolve_upload_path({"username": "alice"}) / "a.txt" == tmp_path / "alice" / "a.txt"
    )
    assert (tmp_path / "alice" / "a.txt").read_bytes() == b"hi"
    refused = await client.post(
        "/users/bob/uploads/", headers={**TUS, "Upload-Length": "1", **named("a.txt")}
    )
    assert refused.status == 201  # another user's directory: the name is free there


async def test_the_id_layout_on_request_and_for_tus_serve(
    make_client: MakeClient, tmp_path: Path, uploads: Path
) -> None:
    client = await make_client(file_names="id")
    path = await create(client, 1, headers=named("a.txt"))
    await patch(client, path, 0, b"1")
    assert names(uploads) == sorted([upload_id(path), upload_id(path) + ".info"])
    app = create_app(upload_path=tmp_path / "serve")
    assert get_tus(app)["/uploads"].file_names == "id"
    with pytest.raises(ValueError, match="file_names"):
        setup_tus(web.Application(), upload_path=tmp_path, file_names="names")  # type: ignore[arg-type]


async def test_stores_without_local_files_are_unaffected(make_client: MakeClient) -> None:
    paths: list[Path | None] = []

    async def on_done(request: web.Request, resource: Resource, file_path: Path | None) -> None:
        paths.append(file_path)

    client = await make_client(store=MemoryStore(), file_names="name", on_upload_done=on_done)
    for _ in range(2):  # the same name twice: nothing is named, nothing is refused
        path = await create(client, 1, headers=named("../odd"))
        await patch(client, path, 0, b"1")
    assert paths == [None, None]


async def test_named_files_with_a_file_locker(make_client: MakeClient, tmp_path: Path) -> None:
    client = await make_client(file_names="name", locker=FileLocker(tmp_path / "locks"))
    path = await create(client, 2, headers=named("locked.txt"))
    await patch(client, path, 0, b"ok")
    assert (tmp_path / "up" / "locked.txt").read_bytes() == b"ok"


# -- the store's FilePlacer, on its own --------------------------------------------------


async def _finished(store: FileStore, data: bytes) -> str:
    created = await store.create(
        Resource(id="u1", length=len(data), created_at=datetime(2030, 1, 1, tzinfo=UTC))
    )
    await store.write(created.id, 0, _body(data), expires_at=None)
    return created.id


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_place_links_then_records_then_unlinks(tmp_path: Path) -> None:
    store = FileStore(tmp_path / ".tus")
    await store.open()
    upload = await _finished(store, b"abc")
    assert isinstance(store, FilePlacer)
    (tmp_path / "t.txt").write_bytes(b"old")
    assert not await store.place(upload, tmp_path / "t.txt", overwrite=False)
    assert (tmp_path / "t.txt").read_bytes() == b"old"
    assert await store.data_path(upload) == tmp_path / ".tus" / upload
    assert await store.place(upload, tmp_path / "t.txt", overwrite=True)
    assert (tmp_path / "t.txt").read_bytes() == b"abc"
    assert names(tmp_path / ".tus") == [upload + ".info"]
    assert await store.data_path(upload) == (tmp_path / "t.txt").absolute()
    assert (await store.get(upload)).offset == 3
    assert await store.place(upload, tmp_path / "t.txt", overwrite=False)  # already there
    assert not await store.place(upload, tmp_path / "other.txt", overwrite=False)
    (tmp_path / "t.txt").unlink()
    with pytest.raises(NotFound, match="moved away"):
        await store.data_path(upload)


async def test_place_renames_where_there_are_no_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(errno.EPERM, "hard links are not supported")

    monkeypatch.setattr(os, "link", no_links)
    store = FileStore(tmp_path / ".tus")
    await store.open()
    upload = await _finished(store, b"abc")
    (tmp_path / "t.txt").write_bytes(b"old")
    assert not await store.place(upload, tmp_path / "t.txt", overwrite=False)
    assert await store.place(upload, tmp_path / "n.txt", overwrite=False)
    assert (tmp_path / "n.txt").read_bytes() == b"abc"
    assert not (tmp_path / ".tus" / upload).exists()


async def test_place_into_a_directory_fails_softly(tmp_path: Path) -> None:
    store = FileStore(tmp_path / ".tus")
    await store.open()
    upload = await _finished(store, b"abc")
    (tmp_path / "d").mkdir()
    assert not await store.place(upload, tmp_path / "d", overwrite=True)
    assert names(tmp_path / ".tus") == [upload, upload + ".info"]
    assert (await store.get(upload)).offset == 3


# -- pure parts ---------------------------------------------------------------------------


def test_canonical_urls_drop_the_regex_and_keep_the_slash() -> None:
    assert canonical_url("/uploads/") == "/uploads/"
    assert canonical_url(r"/u/{name:([a-z])+}/up") == "/u/{name}/up"
    assert canonical_url(r"/u/{id:\d{2,3}}/{x}/") == "/u/{id}/{x}/"


def test_upload_paths_format_only_safe_values() -> None:
    assert format_upload_path("/a/{x}/b", {"x": "y"}) == Path("/a/y/b")
    for bad in ({}, {"x": ""}, {"x": ".."}, {"x": "."}, {"x": "a/b"}, {"x": "a\\b"}):
        with pytest.raises(ValueError, match=r"\{x\}"):
            format_upload_path("/a/{x}", bad)


def test_tus_config_is_aiohttp_tus_config(tmp_path: Path) -> None:
    config = TusConfig(upload_path=tmp_path / "{user}", upload_url="/u/{user}/uploads")
    assert (config.store, config.file_names, config.allow_overwrite_files) == (None, "name", False)
    assert config.resolve_upload_path({"user": "ann"}) == tmp_path / "ann"
    with pytest.raises(ValueError, match="no upload_path"):
        TusConfig(upload_url="/x", store=MemoryStore()).resolve_upload_path({})


def test_configs_are_keyed_by_canonical_url_and_set_up_once(tmp_path: Path) -> None:
    app = web.Application()
    setup_tus(app, upload_url=r"/u/{name:[a-z]+}/up/", upload_path=tmp_path)
    setup_tus(app, upload_url="/plain", upload_path=tmp_path / "p")
    assert set(get_tus(app)) == {"/u/{name}/up/", "/plain"}
    for again in ("/u/{name}/up", r"/u/{name:.*}/up/", "/plain/"):
        with pytest.raises(ValueError, match="already"):
            setup_tus(app, upload_url=again, upload_path=tmp_path / "again")


async def test_on_upload_done_gets_aiohttp_tus_resource_fields(
    make_client: MakeClient, uploads: Path
) -> None:
    seen: list[tuple[str, str | None, int | None, int, str | None, Path | None]] = []

    async def on_done(request: web.Request, resource: Resource, file_path: Path | None) -> None:
        seen.append(
            (
                resource.uid,
                resource.file_name,
                resource.file_size,
                resource.offset,
                resource.metadata_header,
                file_path,
            )
        )

    client = await make_client(file_names="name", on_upload_done=on_done)
    header = f"filename {b64('f.bin')},filetype {b64('application/x-thing')}"
    path = await create(client, 4, headers={"Upload-Metadata": header})
    await patch(client, path, 0, b"ab")
    await patch(client, path, 2, b"cd")
    assert seen == [(upload_id(path), "f.bin", 4, 4, header, uploads / "f.bin")]
