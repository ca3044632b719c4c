"""Hooks in tusd's lifecycle; a raising hook gives a clean error and no half-written upload."""

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from tus_server_testing import TUS, MakeClient, b64, create, offset_of, patch, path_of

from tuskit_common import Resource
from tuskit_server import CreateChanges, HookRejected, Hooks, MemoryStore


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def hook(self, name: str) -> Any:
        async def record(request: web.Request, resource: Resource) -> None:
            self.calls.append((name, resource.id, resource.offset))

        return record


async def test_lifecycle_order(make_client: MakeClient, tmp_path: Path) -> None:
    rec = Recorder()
    done: list[tuple[str, Path | None]] = []

    async def on_done(request: web.Request, resource: Resource, path: Path | None) -> None:
        done.append((resource.id, path))

    hooks = Hooks(
        **{
            n: rec.hook(n)
            for n in ("post_create", "post_receive", "pre_finish", "post_finish", "post_terminate")
        }
    )
    client = await make_client(hooks=hooks, on_upload_done=on_done)
    path = await create(client, 4)
    upload_id = path.rsplit("/", 1)[1]
    await patch(client, path, 0, b"ab")
    await patch(client, path, 2, b"cd")
    await patch(client, path, 4, b"")  # already complete: nothing re-runs
    assert (await client.delete(path, headers=TUS)).status == 204
    assert rec.calls == [
        ("post_create", upload_id, 0),
        ("post_receive", upload_id, 2),
        ("post_receive", upload_id, 4),
        ("pre_finish", upload_id, 4),
        ("post_finish", upload_id, 4),
        ("post_terminate", upload_id, 4),
    ]
    assert done == [(upload_id, tmp_path / "up" / upload_id)]


async def test_pre_create_rejects_with_status(make_client: MakeClient) -> None:
    async def pre_create(request: web.Request, resource: Resource) -> None:
        if "filename" not in resource.metadata:
            raise HookRejected("a filename is required", status=422)

    client = await make_client(hooks=Hooks(pre_create=pre_create))
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 422
    assert await response.text() == "a filename is required\n"
    ok = await client.post(
        "/uploads", headers={**TUS, "Upload-Length": "1", "Upload-Metadata": f"filename {b64('a')}"}
    )
    assert ok.status == 201


async def test_pre_create_default_rejection_is_400(make_client: MakeClient, tmp_path: Path) -> None:
    async def pre_create(request: web.Request, resource: Resource) -> None:
        raise HookRejected("no")

    client = await make_client(hooks=Hooks(pre_create=pre_create))
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 400
    assert not list((tmp_path / "up").glob("*.info"))


async def test_pre_create_changes_id_and_metadata(make_client: MakeClient) -> None:
    async def pre_create(request: web.Request, resource: Resource) -> CreateChanges:
        return CreateChanges(id="user-7_file", metadata={"owner": b"7", "flag": None})

    client = await make_client(hooks=Hooks(pre_create=pre_create))
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert path_of(response) == "/uploads/user-7_file"
    head = await client.head("/uploads/user-7_file", headers=TUS)
    assert head.headers["Upload-Metadata"] == f"owner {b64('7')},flag"


async def test_raising_pre_create_creates_nothing(make_client: MakeClient, tmp_path: Path) -> None:
    async def pre_create(request: web.Request, resource: Resource) -> None:
        raise RuntimeError("database down")

    client = await make_client(hooks=Hooks(pre_create=pre_create))
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 500
    assert await response.text() == "the pre_create hook failed\n"
    assert not list((tmp_path / "up").glob("*"))


async def test_raising_post_receive_keeps_bytes_and_answers_500(make_client: MakeClient) -> None:
    async def post_receive(request: web.Request, resource: Resource) -> None:
        raise ValueError("boom")

    client = await make_client(hooks=Hooks(post_receive=post_receive))
    path = await create(client, 5)
    response = await patch(client, path, 0, b"abc")
    assert response.status == 500
    assert await offset_of(client, path) == 3  # stored, consistent, resumable
    assert (await patch(client, path, 3, b"de")).status == 500
    assert await offset_of(client, path) == 5


@pytest.mark.parametrize("status", [403, 409])
async def test_pre_terminate_rejection(make_client: MakeClient, status: int) -> None:
    async def pre_terminate(request: web.Request, resource: Resource) -> None:
        raise HookRejected("keep it", status=status)

    client = await make_client(hooks=Hooks(pre_terminate=pre_terminate))
    path = await create(client, 5)
    assert (await client.delete(path, headers=TUS)).status == status
    assert await offset_of(client, path) == 0


async def test_on_upload_done_failure_is_500_once(make_client: MakeClient) -> None:
    calls: list[str] = []

    async def on_done(request: web.Request, resource: Resource, path: Path | None) -> None:
        calls.append(resource.id)
        raise OSError("disk full")

    client = await make_client(on_upload_done=on_done)
    path = await create(client, 1)
    assert (await patch(client, path, 0, b"x")).status == 500
    assert (await patch(client, path, 1, b"")).status == 204
    assert len(calls) == 1


def test_hook_rejection_needs_an_error_status() -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        HookRejected("x", status=200)


async def test_store_failure_is_a_clean_500(make_client: MakeClient) -> None:
    class BrokenStore(MemoryStore):
        async def write(self, *args: Any, **kwargs: Any) -> Resource:
            raise RuntimeError("backend unavailable")

    client = await make_client(store=BrokenStore(), upload_path=None)
    path = await create(client, 3)
    response = await patch(client, path, 0, b"abc")
    assert response.status == 500
    assert await response.text() == "internal server error\n"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert await offset_of(client, path) == 0
