"""S3Store's own promises, checked in the bucket: tusd's layout, part sizes, the tail, the
offset after a crash, removal, UploadPartCopy, and state shared by two stores."""

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from test_server_s3store import open_store
from tus_s3_testing import S3Target
from tus_server_contracts import NOW, body, new

from tuskit_common import Gone, NotFound, ServiceUnavailable
from tuskit_server.errors import UploadExists
from tuskit_server.stores.s3 import S3Store
from tuskit_server.stores.s3._bucket import Bucket
from tuskit_server.stores.s3._layout import MAX_PARTS, MIN_PART, next_part_size
from tuskit_server.stores.s3._parts import NEXT_PART

MIB = 1024 * 1024


@pytest.fixture
async def store(s3: S3Target) -> AsyncIterator[S3Store]:
    store = await open_store(s3)
    yield store
    await store.close()


async def objects(store: S3Store) -> dict[str, int]:
    """Every object under the store's prefix, by key without the prefix, with its size."""
    page = await store.bucket.client.list_objects_v2(Bucket=store.bucket.name, Prefix=store.prefix)
    return {o["Key"][len(store.prefix) :]: o["Size"] for o in page.get("Contents", [])}


async def part_sizes(store: S3Store, upload_id: str) -> list[int]:
    upload = (await store.get(upload_id)).storage.get("MultipartUpload")
    if upload is None:  # not started: no part yet
        return []
    assert isinstance(upload, str)
    parts = await store.bucket.parts(store.keys(upload_id).data, upload)
    assert parts is not None
    return [p.size for p in parts]


def test_part_size_grows_so_the_upload_fits_in_10000_parts() -> None:
    assert next_part_size(base=MIN_PART, target=MIB, offset=0, parts=0) == MIN_PART
    big = 100 * 1024**3  # 100 GiB: 10.24 MiB a part, rounded up to 11 MiB
    assert next_part_size(base=MIN_PART, target=big, offset=0, parts=0) == 11 * MIB
    # later parts grow when earlier ones were too small for what is left
    late = next_part_size(base=MIN_PART, target=big, offset=5 * MIB * 9000, parts=9000)
    assert late * (MAX_PARTS - 9000) >= big - 5 * MIB * 9000
    with pytest.raises(ValueError, match="10000"):
        next_part_size(base=MIN_PART, target=big, offset=0, parts=MAX_PARTS)


async def test_layout_parts_tail_and_one_finished_object(store: S3Store) -> None:
    data = os.urandom(12 * MIB + 3)
    await store.create(new("u1", length=len(data), metadata_header="k"))
    assert set(await objects(store)) == {"u1.info"}
    updated = await store.write("u1", 0, body(data[: 11 * MIB]), expires_at=None)
    assert updated.offset == 11 * MIB
    assert await part_sizes(store, "u1") == [5 * MIB, 5 * MIB]
    assert (await objects(store))["u1.part"] == MIB  # the tail, shorter than a part
    # the next PATCH prepends the tail; the last part may be short
    done = await store.write("u1", 11 * MIB, body(data[11 * MIB :]), expires_at=None)
    assert done.is_complete
    stored = await objects(store)
    assert set(stored) == {"u1", "u1.info"}  # ONE object, the tail deleted
    assert stored["u1"] == len(data)
    got = await store.bucket.read(store.prefix + "u1")
    assert got == data
    assert done.storage["Bucket"] == store.bucket.name
    assert done.storage["Key"] == store.prefix + "u1"
    assert done.storage["Type"] == "s3store"


async def test_a_tail_and_the_next_small_chunk_stay_one_tail(store: S3Store) -> None:
    await store.create(new("u1", length=None))
    await store.write("u1", 0, body(b"a" * 1000), expires_at=None)
    updated = await store.write("u1", 1000, body(b"b" * 1000), expires_at=None)
    assert updated.offset == 2000
    assert (await objects(store))["u1.part"] == 2000
    assert await part_sizes(store, "u1") == []
    assert await store.bucket.read(store.keys("u1").part) == b"a" * 1000 + b"b" * 1000


async def test_offset_from_s3_after_a_crash_between_part_and_info(store: S3Store) -> None:
    """A part S3 committed counts even though no info object was rewritten after it."""
    await store.create(new("u1", length=20 * MIB))
    await store.write("u1", 0, body(b"x" * MIN_PART), expires_at=None)
    upload = (await store.get("u1")).storage["MultipartUpload"]
    assert isinstance(upload, str)
    await store.bucket.upload_part(store.keys("u1").data, upload, 2, b"y" * MIN_PART)
    assert (await store.get("u1")).offset == 2 * MIN_PART  # HEAD exact without the info


async def test_a_tail_folded_into_a_part_is_not_counted_twice(store: S3Store) -> None:
    """A crash after the part holding the tail landed but before the tail was deleted."""
    await store.create(new("u1", length=20 * MIB))
    await store.write("u1", 0, body(b"t" * 100), expires_at=None)
    stale = await store.bucket.read(store.keys("u1").part)
    await store.write("u1", 100, body(b"p" * MIN_PART), expires_at=None)
    assert (await store.get("u1")).offset == 100 + MIN_PART
    assert stale is not None
    await store.bucket.put(store.keys("u1").part, stale, meta={NEXT_PART: "1"})
    assert (await store.get("u1")).offset == MIN_PART  # part 1 (the old tail's) only
    resumed = await store.write("u1", MIN_PART, body(b"q" * 7), expires_at=None)
    assert resumed.offset == MIN_PART + 7


async def test_a_mismatching_chunk_never_becomes_a_part(store: S3Store) -> None:
    await store.create(new("u1", length=20 * MIB))
    kept = await store.write_staged(
        "u1", 0, body(b"r" * (6 * MIB)), accept=lambda: False, expires_at=None
    )
    assert kept.offset == 0
    assert await part_sizes(store, "u1") == []
    assert set(await objects(store)) == {"u1.info"}


async def test_an_accepted_chunk_larger_than_memory_becomes_parts(store: S3Store) -> None:
    """A checksummed chunk past 1 MiB waits in a temporary file, then streams into parts."""
    data = os.urandom(6 * MIB)
    await store.create(new("u1", length=20 * MIB))
    kept = await store.write_staged("u1", 0, body(data), accept=lambda: True, expires_at=None)
    assert kept.offset == 6 * MIB
    assert await part_sizes(store, "u1") == [MIN_PART]
    assert await store.bucket.read(store.keys("u1").part) == data[MIN_PART:]


async def test_terminate_removes_every_object_and_the_multipart_upload(store: S3Store) -> None:
    await store.create(new("u1", length=20 * MIB))
    await store.write("u1", 0, body(b"z" * (MIN_PART + 10)), expires_at=None)
    await store.terminate("u1")
    assert set(await objects(store)) == {"u1.gone"}
    listed = await store.bucket.client.list_multipart_uploads(
        Bucket=store.bucket.name, Prefix=store.prefix
    )
    assert listed.get("Uploads", []) == []
    with pytest.raises(Gone):
        await store.get("u1")


async def test_concatenation_copies_large_partials_server_side(
    store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = {"p1": MIN_PART + 1, "p2": 10, "p3": MIN_PART * 2}
    pieces = {k: os.urandom(n) for k, n in sizes.items()}
    for key, data in pieces.items():
        await store.create(new(key, length=len(data), is_partial=True))
        await store.write(key, 0, body(data), expires_at=None)
    await store.create(new("f", length=None, is_final=True, partial_ids=("p1", "p2", "p3")))
    copied: list[tuple[str, int, int]] = []
    copy_part = Bucket.copy_part

    async def spy(self: Bucket, *args: object, **kwargs: object) -> object:
        copied.append((str(args[3]), int(args[4]), int(args[5])))  # type: ignore[call-overload]
        return await copy_part(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Bucket, "copy_part", spy)
    final = await store.concatenate("f", ("p1", "p2", "p3"))
    assert final.length == sum(sizes.values())
    assert await store.bucket.read(store.prefix + "f") == b"".join(pieces.values())
    # p1 copied whole; p2 (too short for a part) joined with the head of p3 in memory;
    # the rest of p3 copied
    assert [c[0] for c in copied] == [store.prefix + "p1", store.prefix + "p3"]


async def test_expiry_tombstones_are_shared_by_two_stores(s3: S3Target) -> None:
    bucket, prefix = await s3.fresh()
    first = S3Store(bucket, prefix, **s3.store_kwargs())
    second = S3Store(bucket, prefix, **s3.store_kwargs())
    await first.open()
    await second.open()
    try:
        await first.create(new("old", expires_at=NOW))
        assert await second.expired(NOW) == ["old"]
        await first.expire("old")
        with pytest.raises(Gone):
            await second.get("old")
        with pytest.raises(Gone):  # the other sweeper, a moment late: told, nothing fails
            await second.expire("old")
        with pytest.raises(UploadExists):
            await second.create(new("old"))
        assert await second.forget(NOW.replace(year=2100)) == 1
        with pytest.raises(NotFound):
            await first.get("old")
    finally:
        await first.close()
        await second.close()


async def test_every_byte_in_parts_but_never_completed_is_completed_on_read(
    store: S3Store,
) -> None:
    """A crash between the last part and CompleteMultipartUpload: HEAD says finished only
    with the object there, so the read completes it."""
    data = os.urandom(MIN_PART + 3)
    await store.create(new("u1", length=len(data)))
    await store.write("u1", 0, body(data[:MIN_PART]), expires_at=None)
    upload = (await store.get("u1")).storage["MultipartUpload"]
    assert isinstance(upload, str)
    key = store.keys("u1").data
    await store.bucket.upload_part(key, upload, 2, data[MIN_PART:])
    assert (await store.get("u1")).is_complete
    assert await store.bucket.read(key) == data
    assert (await store.get("u1")).is_complete  # from the info object now


async def test_a_small_upload_is_one_object_without_a_multipart_upload(store: S3Store) -> None:
    await store.create(new("u1", length=5))
    await store.write("u1", 0, body(b"ab"), expires_at=None)
    done = await store.write("u1", 2, body(b"cde"), expires_at=None)
    assert done.is_complete
    assert "MultipartUpload" not in done.storage
    assert set(await objects(store)) == {"u1", "u1.info"}
    assert await store.bucket.read(store.keys("u1").data) == b"abcde"
    listed = await store.bucket.client.list_multipart_uploads(
        Bucket=store.bucket.name, Prefix=store.prefix
    )
    assert listed.get("Uploads", []) == []


async def test_an_append_after_a_change_reads_the_upload_again(store: S3Store) -> None:
    """A PATCH reads the upload, then appends (under its lock): the append starts from that
    read, unless something changed the upload in between (here: a declared length)."""
    await store.create(new("u1", length=None))
    await store.write("u1", 0, body(b"abc"), expires_at=None)
    assert (await store.get("u1")).length is None
    await store.declare_length("u1", 5)
    done = await store.write("u1", 3, body(b"defgh"), expires_at=None)
    assert (done.length, done.offset) == (5, 5)
    assert await store.bucket.read(store.keys("u1").data) == b"abcde"


async def test_two_stores_removing_at_once_never_fail_on_each_other(s3: S3Target) -> None:
    bucket, prefix = await s3.fresh()
    stores = [S3Store(bucket, prefix, **s3.store_kwargs()) for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        first, second = stores
        for number in range(4):
            await first.create(new(f"old{number}", expires_at=NOW))
        await first.create(new("live", expires_at=NOW.replace(year=2100)))
        expired = await second.expired(NOW)
        assert expired == [f"old{n}" for n in range(4)]
        outcomes = await asyncio.gather(
            *(s.expire(upload_id) for upload_id in expired for s in stores),
            return_exceptions=True,
        )
        assert sum(o is None for o in outcomes) == 4  # each removed once
        assert all(o is None or isinstance(o, Gone) for o in outcomes)
        assert (await second.get("live")).expires_at is not None
        forgotten = await asyncio.gather(*(s.forget(NOW.replace(year=2200)) for s in stores))
        assert sum(forgotten) >= 4
        assert set(await objects(first)) == {"live.info"}
    finally:
        for store in stores:
            await store.close()


async def test_no_gap_when_the_multipart_upload_cannot_be_started(
    store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first part's bytes have left the buffer when S3 refuses to start the multipart
    upload: nothing after them is kept as a tail (that would leave a gap)."""
    await store.create(new("u1", length=20 * MIB))
    await store.write("u1", 0, body(b"t" * 100), expires_at=None)

    async def refused(self: Bucket, key: str) -> str:
        raise ServiceUnavailable("the object storage failed to start the multipart upload")

    monkeypatch.setattr(Bucket, "start_multipart", refused)
    with pytest.raises(ServiceUnavailable):
        await store.write("u1", 100, body(b"p" * (MIN_PART + 1000)), expires_at=None)
    assert (await store.get("u1")).offset == 100  # the old tail only, never a later piece
    assert await store.bucket.read(store.keys("u1").part) == b"t" * 100
