"""FileStore and MemoryStore against the shared contract; FileStore's own promises."""

import asyncio
import json
import os
from pathlib import Path

import pytest
from tus_server_contracts import NOW, StoreContract, body, new

from tuskit_common import Extension, OffsetMismatch
from tuskit_server import FileStore, MemoryStore, StoreComposer


def _temp_files(root: Path) -> list[Path]:
    return list(root.glob("*.tmp"))


class TestFileStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> FileStore:
        store = FileStore(tmp_path / "files")
        await store.open()
        return store


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


def test_composer_probes_capabilities(tmp_path: Path) -> None:
    everything = StoreComposer.from_store(FileStore(tmp_path))
    assert everything.downloader is not None
    assert Extension.CHECKSUM in everything.extensions()
    memory = StoreComposer.from_store(MemoryStore())
    assert memory.downloader is None
    assert memory.extensions(wanted=[Extension.CREATION, Extension.CONCATENATION_UNFINISHED]) == {
        Extension.CREATION
    }
    assert Extension.CHECKSUM_TRAILER not in everything.extensions()
    with pytest.raises(TypeError, match="DataStore"):
        StoreComposer.from_store(object())


def test_only_a_store_of_local_files_offers_a_pour_target(tmp_path: Path) -> None:
    assert StoreComposer.from_store(FileStore(tmp_path)).pour_receiver is not None
    assert StoreComposer.from_store(MemoryStore()).pour_receiver is None


async def test_a_poured_body_lands_like_a_written_one(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    await store.open()
    created = await store.create(new(length=10))
    await store.write(created.id, 0, body(b"abcd"), expires_at=None)
    target = store.pour_target(created.id, 4, expires_at=NOW)
    assert target.offset == 4
    fd = await asyncio.to_thread(target.open)
    os.pwrite(fd, b"efg", 4)  # what the transfer thread does
    updated = await asyncio.to_thread(target.finish, fd)
    assert (updated.offset, updated.expires_at) == (7, NOW)
    assert await store.get(created.id) == updated
    assert (tmp_path / "files" / created.id).read_bytes() == b"abcdefg"


async def test_a_pour_target_at_a_stale_offset_writes_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    await store.open()
    created = await store.create(new(length=10))
    target = store.pour_target(created.id, 3, expires_at=None)
    with pytest.raises(OffsetMismatch):
        await asyncio.to_thread(target.open)
    assert (await store.get(created.id)).offset == 0


async def test_info_file_is_the_resource_json(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    await store.create(new(metadata_header="k"))
    await store.write("u1", 0, body(b"abc"), expires_at=NOW)
    record = json.loads((tmp_path / "u1.info").read_text())
    assert record["id"] == "u1"
    assert record["offset"] == 3
    assert record["metadata_header"] == "k"
    assert not _temp_files(tmp_path)  # atomic replace leaves no temp file


async def test_info_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(tmp_path)
    await store.create(new())
    before = (tmp_path / "u1.info").read_text()

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        await store.declare_length("u1", 5)
    assert (tmp_path / "u1.info").read_text() == before
    assert not _temp_files(tmp_path)
