"""Issue 21, the state a crash or a full disk leaves: unreadable info files are recovered
or quarantined, and termination frees space on a full disk with the same outcome before
and after a restart."""

import errno
import io
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tus_server_testing import TUS, MakeClient, create, offset_of, patch

from tuskit_server._expiry import sweep
from tuskit_server._setup import ENDPOINTS_KEY
from tuskit_server.stores import _removal

UNREADABLE = [b"", b'{"id": "abc', b"{}", bytes(range(256)) * 4, b'{"id": "someone-else"}']


def _real_clock() -> datetime:
    return datetime.now(UTC)


def _corrupt(info: Path, content: bytes, *, age: float = 60.0) -> None:
    info.write_bytes(content)
    old = time.time() - age
    os.utime(info, (old, old))


@pytest.mark.parametrize("content", UNREADABLE)
async def test_an_unreadable_info_is_recovered_from_the_data_file(
    make_client: MakeClient, tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(clock=_real_clock)
    path = await create(client, 10, headers={"Upload-Metadata": "k"})
    assert (await patch(client, path, 0, b"hello")).status == 204
    upload_id = path.rsplit("/", 1)[1]
    store = tmp_path / "up"
    _corrupt(store / f"{upload_id}.info", content)
    with caplog.at_level(logging.WARNING, logger="tuskit_server"):
        for _ in range(3):
            head = await client.head(path, headers=TUS)
            assert head.status == 200
            assert head.headers["Upload-Offset"] == "5"
            assert head.headers["Upload-Defer-Length"] == "1"
            assert "Upload-Expires" in head.headers
    assert sum("unreadable info" in r.getMessage() for r in caplog.records) == 1
    assert (store / f"{upload_id}.info.bad").read_bytes() == content
    done = await patch(client, path, 5, b"world", Upload_Length="10")
    assert done.status == 204, await done.text()
    assert (store / upload_id).read_bytes() == b"helloworld"
    assert (await client.delete(path, headers=TUS)).status == 204
    assert (await client.head(path, headers=TUS)).status == 410
    assert sorted(p.name for p in store.iterdir()) == [f"{upload_id}.gone"]


async def test_an_unreadable_info_without_data_is_quarantined(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(clock=_real_clock)
    path = await create(client, 10)
    upload_id = path.rsplit("/", 1)[1]
    store = tmp_path / "up"
    (store / upload_id).unlink()
    _corrupt(store / f"{upload_id}.info", b"\0\0\0")
    assert (await client.head(path, headers=TUS)).status == 404
    assert (await client.delete(path, headers=TUS)).status == 404
    assert not (store / f"{upload_id}.info").exists()
    assert (store / f"{upload_id}.info.bad").read_bytes() == b"\0\0\0"


async def test_a_new_info_being_written_is_not_touched(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(clock=_real_clock)
    path = await create(client, 10)
    info = tmp_path / "up" / f"{path.rsplit('/', 1)[1]}.info"
    info.write_bytes(b'{"id": ')  # as another worker may be writing it right now
    assert (await client.head(path, headers=TUS)).status == 404
    assert info.read_bytes() == b'{"id": '


async def test_the_sweeper_expires_a_recovered_upload(
    make_client: MakeClient, tmp_path: Path
) -> None:
    now = [datetime.now(UTC)]
    client = await make_client(clock=lambda: now[0], expiration=timedelta(hours=1))
    endpoint = client.app[ENDPOINTS_KEY]["/uploads"]
    kept = await create(client, 10)
    broken = await create(client, 10)
    upload_id = broken.rsplit("/", 1)[1]
    _corrupt(tmp_path / "up" / f"{upload_id}.info", b"{}")
    assert await sweep(endpoint) == 0  # recovered, expiring an hour after its last write
    now[0] += timedelta(hours=2)
    assert await sweep(endpoint) == 2  # both are past their expiry: none skipped
    assert (await client.head(broken, headers=TUS)).status == 410
    assert (await client.head(kept, headers=TUS)).status == 410


def _restart_client(make_client: MakeClient) -> Any:
    return make_client(clock=_real_clock)


async def test_termination_on_a_full_disk_frees_the_data_and_stays_410(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client(clock=_real_clock)
    path = await create(client, 2 << 20)
    assert (await patch(client, path, 0, io.BytesIO(os.urandom(2 << 20)))).status == 204
    upload_id = path.rsplit("/", 1)[1]
    store = tmp_path / "up"

    def full(fd: int, pieces: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_removal, "write_all", full)  # not a byte can be written
    assert (await client.delete(path, headers=TUS)).status == 204
    assert not (store / upload_id).exists()  # the space is free
    assert (store / f"{upload_id}.gone").read_bytes() == b""
    assert (await client.head(path, headers=TUS)).status == 410
    monkeypatch.undo()
    again = await _restart_client(make_client)
    assert (await again.head(path, headers=TUS)).status == 410
    endpoint = again.app[ENDPOINTS_KEY]["/uploads"]
    composer = (await endpoint.stores())[0]
    assert composer.expirer is not None
    assert await composer.expirer.forget(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert await composer.expirer.forget(datetime.now(UTC) + timedelta(seconds=5)) == 1
    assert (await again.head(path, headers=TUS)).status == 404


async def test_termination_without_a_free_inode_removes_the_upload(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client(clock=_real_clock)
    path = await create(client, 10)
    assert (await patch(client, path, 0, b"0123456789")).status == 204
    real_open = os.open

    def no_inode(file: Any, flags: int, *args: Any) -> int:
        if str(file).endswith(".gone"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(file, flags, *args)

    monkeypatch.setattr(os, "open", no_inode)
    assert (await client.delete(path, headers=TUS)).status == 204
    monkeypatch.undo()
    assert list((tmp_path / "up").iterdir()) == []
    assert (await client.head(path, headers=TUS)).status == 404
    again = await _restart_client(make_client)
    assert (await again.head(path, headers=TUS)).status == 404


async def test_a_termination_that_cannot_delete_leaves_the_upload_as_it_was(
    make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client(clock=_real_clock)
    path = await create(client, 10)
    assert (await patch(client, path, 0, b"01234")).status == 204
    real_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if not self.suffix:
            raise OSError(errno.EROFS, "Read-only file system")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    response = await client.delete(path, headers=TUS)
    assert response.status == 500
    assert (await response.text()).count("\n") == 1
    monkeypatch.undo()
    assert not list((tmp_path / "up").glob("*.gone"))
    assert await offset_of(client, path) == 5
    again = await _restart_client(make_client)
    assert await offset_of(again, path) == 5
