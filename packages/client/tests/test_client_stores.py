"""Fingerprints and URL stores, including two processes writing one JSON file."""

import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit_client import JSONFileStore, MemoryStore, StoredUpload, URLStore
from tuskit_client._resume import fingerprint
from tuskit_client._sources import BytesSource, StreamSource, open_source


async def fp(path: Path, endpoint: str, key: str | None = None) -> str | None:
    source = await open_source(path)
    try:
        return await fingerprint(source, endpoint, key=key)
    finally:
        await source.aclose()


async def test_fingerprint_depends_on_content_size_path_and_endpoint(tmp_path: Path) -> None:
    one, two, three = tmp_path / "one", tmp_path / "two", tmp_path / "three"
    one.write_bytes(b"a" * 100)
    two.write_bytes(b"a" * 100)
    three.write_bytes(b"a" * 101)
    a = await fp(one, "http://e/")
    assert a is not None
    assert a == await fp(one, "http://e/")
    assert a != await fp(two, "http://e/")
    assert a != await fp(one, "http://other/")
    assert await fp(three, "e", key="k") != await fp(one, "e", key="k")
    assert await fingerprint(BytesSource(b"x"), "e") != await fingerprint(BytesSource(b"y"), "e")
    assert await fp(one, "e", key="k") == await fp(two, "e", key="k")


async def test_streams_only_have_a_fingerprint_with_a_key() -> None:
    async def nothing() -> AsyncIterator[bytes]:
        yield b"x"

    assert await fingerprint(StreamSource(nothing()), "e") is None
    assert await fingerprint(StreamSource(nothing()), "e", key="k") is not None


@pytest.mark.parametrize("kind", ["memory", "json"])
async def test_store_round_trip(kind: str, tmp_path: Path) -> None:
    store: URLStore = MemoryStore() if kind == "memory" else JSONFileStore(tmp_path / "s.json")
    assert isinstance(store, URLStore)
    entry = StoredUpload("http://h/files/1", 10, ("http://h/p/1", None), "2030-01-01")
    assert await store.load("fp") is None
    await store.save("fp", entry)
    assert await store.load("fp") == entry
    await store.remove("fp")
    await store.remove("fp")
    assert await store.load("fp") is None


async def test_json_store_survives_garbage(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    store = JSONFileStore(path)
    assert await store.load("x") is None
    path.write_text(json.dumps({"x": {"url": 5}}))
    assert await store.load("x") is None
    await store.save("y", StoredUpload("u", None))
    assert json.loads(path.read_text())["y"]["url"] == "u"


def test_json_store_is_safe_for_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.json"
    script = textwrap.dedent(
        """
        import sys
        from tuskit_client import JSONFileStore, StoredUpload
        store = JSONFileStore(sys.argv[1])
        for i in range(30):
            store.save_sync(f"{sys.argv[2]}-{i}", StoredUpload(f"u{i}", i))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"p{n}"]) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    data = json.loads(path.read_text())
    assert len(data) == 120
    assert not list(tmp_path.glob("*.tmp"))
