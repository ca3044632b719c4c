"""The client's upload flow against the server's rules, in memory, for every extension (no
sockets, no event loop; see ``integration_tests/pair.py``)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from yarl import URL

from integration_tests.pair import ENDPOINT, NOW, Fault, Pair, RulesServer, at
from tuskit_client import ResponseError, RetryConfiguration, UploadNotFound, UploadResult
from tuskit_client._flow import UploadFlow
from tuskit_client._plan import plan_upload
from tuskit_client._progress import Progress, Span
from tuskit_client._steps import final_concat, read_metadata, split_ranges
from tuskit_common import Extension

DATA = os.urandom(70_000)
CONFIG = RetryConfiguration(retry_attempts=4, base_delay_seconds=1.0, max_retry_period_seconds=8.0)
E = Extension


def flow(chunk_size: int | None = 16_384) -> UploadFlow:
    return UploadFlow(CONFIG, headers={"X-Pair": "1"}, chunk_size=chunk_size, **at(NOW))


def upload(
    pair: Pair,
    *,
    size: int | None = len(DATA),
    seekable: bool = True,
    checksum: str | None = None,
    resumable: bool = False,
    chunk_size: int | None = 16_384,
    progress: Progress | None = None,
) -> tuple[UploadResult, Pair]:
    plan = plan_upload(
        ENDPOINT,
        size=size,
        seekable=seekable,
        progress=progress or Progress(None, size),
        url=None,
        stored=None,
        resumable=resumable,
        metadata_header="name cGFpcg==",
        checksum=checksum,
    )
    return pair.run(flow(chunk_size).upload(plan)), pair


def only(server: RulesServer) -> bytes:
    (stored,) = server.uploads.values()
    assert stored.resource.is_complete
    return bytes(stored.data)


def test_creation_then_chunks() -> None:
    server = RulesServer((E.CREATION,), now=NOW)
    result, pair = upload(Pair(server, DATA))
    assert only(server) == DATA
    assert [m for m, _, _ in pair.wire] == ["OPTIONS", "POST"] + ["PATCH"] * 5
    assert [o for m, o, _ in pair.wire if m == "PATCH"] == ["0", "16384", "32768", "49152", "65536"]
    assert server.uploads["u1"].resource.metadata_header == "name cGFpcg=="
    assert result.url == ENDPOINT.join(URL("u1"))


def test_creation_with_upload_sends_the_first_chunk_in_the_post() -> None:
    server = RulesServer((E.CREATION, E.CREATION_WITH_UPLOAD), now=NOW)
    seen: list[tuple[int, int, int | None]] = []
    _, pair = upload(Pair(server, DATA), progress=Progress(lambda *p: seen.append(p), len(DATA)))
    assert pair.wire[1] == ("POST", None, 16_384)
    assert [m for m, _, _ in pair.wire].count("PATCH") == 4
    assert only(server) == DATA
    assert seen[-1] == (len(DATA), len(DATA), len(DATA))


def test_a_resumable_creation_keeps_its_post_small_and_is_remembered() -> None:
    server = RulesServer((E.CREATION, E.CREATION_WITH_UPLOAD), now=NOW)
    big = os.urandom(600_000)
    _, pair = upload(Pair(server, big), size=len(big), resumable=True, chunk_size=1_000_000)
    assert pair.wire[1] == ("POST", None, 256 * 1024)
    assert pair.remembered == [ENDPOINT.join(URL("u1"))]
    assert only(server) == big


@pytest.mark.parametrize("size", [0, 10_000, 16_384, 50_000])
def test_defer_length_declares_it_on_the_last_chunk(size: int) -> None:
    server = RulesServer((E.CREATION, E.CREATION_DEFER_LENGTH), now=NOW)
    result, pair = upload(Pair(server, DATA[:size]), size=None, seekable=False)
    assert only(server) == DATA[:size]
    assert server.uploads["u1"].resource.length == size
    assert result.length == size
    assert pair.wire[1][0] == "POST"


def test_defer_length_is_refused_without_the_extension() -> None:
    server = RulesServer((E.CREATION,), now=NOW)
    with pytest.raises(Exception, match="creation-defer-length"):
        upload(Pair(server, DATA), size=None, seekable=False)
    assert server.uploads == {}


def test_checksum_mismatch_in_transit_is_resent() -> None:
    server = RulesServer((E.CREATION, E.CHECKSUM), now=NOW)
    pair = Pair(server, DATA)
    pair.faults = [Fault("PATCH", corrupt=True), Fault("PATCH", corrupt=True)]
    upload(pair, checksum="sha256")
    assert only(server) == DATA
    patches = [o for m, o, _ in pair.wire if m == "PATCH"]
    assert patches[:3] == ["0", "0", "0"]
    assert pair.sleeps == []


def test_checksum_needs_an_advertised_algorithm() -> None:
    server = RulesServer((E.CREATION, E.CHECKSUM), now=NOW)
    with pytest.raises(Exception, match="md5"):
        upload(Pair(server, DATA), checksum="md5")


def test_a_cut_connection_resumes_from_the_servers_offset() -> None:
    server = RulesServer((E.CREATION,), now=NOW)
    pair = Pair(server, DATA)
    pair.faults = [Fault("PATCH", cut=5_000), Fault("PATCH", cut=0)]
    upload(pair)
    assert only(server) == DATA
    methods = [(m, o) for m, o, _ in pair.wire]
    assert methods[2:6] == [("PATCH", "0"), ("HEAD", None), ("PATCH", "5000"), ("HEAD", None)]
    assert pair.sleeps == [0.5, 1.0]


def test_a_conflict_resyncs_from_the_servers_offset() -> None:
    server = RulesServer((E.CREATION,), now=NOW)
    pair = Pair(server, DATA)
    location = pair.run(flow().create(ENDPOINT, length=len(DATA))).location
    server.uploads["u1"].data += DATA[:1_000]  # the server holds more than the client knows
    server.uploads["u1"].resource = server.uploads["u1"].resource.model_copy(
        update={"offset": 1_000}
    )
    done = pair.run(flow().transfer(location, Span(), offset=0, length=len(DATA)))
    assert done.offset == len(DATA)
    assert only(server) == DATA
    assert [(m, o) for m, o, _ in pair.wire][1:4] == [
        ("PATCH", "0"),
        ("HEAD", None),
        ("PATCH", "1000"),
    ]


def test_termination() -> None:
    server = RulesServer((E.CREATION, E.TERMINATION), now=NOW)
    result, pair = upload(Pair(server, DATA))
    url = result.url
    pair.run(flow().delete(url))
    assert server.uploads == {}
    with pytest.raises(UploadNotFound) as info:
        pair.run(flow().status(url))
    assert info.value.status == 404
    without = RulesServer((E.CREATION,), now=NOW)
    url = Pair(without).run(flow().create(ENDPOINT, length=1)).location
    with pytest.raises(ResponseError) as refused:
        Pair(without).run(flow().delete(url))
    assert refused.value.status == 501


def test_concatenation_of_parts_into_a_final_upload() -> None:
    server = RulesServer((E.CREATION, E.CONCATENATION), now=NOW)
    pair = Pair(server, DATA)
    progress = Progress(None, len(DATA))
    parts = [
        pair.run(
            flow().part(
                ENDPOINT,
                None,
                Span(start, index),
                length=end - start,
                checksum=None,
                progress=progress,
            )
        )
        for index, (start, end) in enumerate(split_ranges(len(DATA), 3))
    ]
    assert pair.remembered == parts
    final = pair.run(
        flow().create(ENDPOINT, length=None, metadata_header="n eA==", concat=final_concat(parts))
    )
    stored = server.uploads[final.location.name]
    assert stored.resource.is_final
    assert bytes(stored.data) == DATA
    status = pair.run(flow().status(final.location))
    assert (status.offset, status.length) == (len(DATA), len(DATA))
    assert status.concat_header == final_concat(parts)
    assert read_metadata(status) == {"n": b"x"}


def test_a_stored_part_is_continued_and_a_gone_one_recreated() -> None:
    server = RulesServer((E.CREATION, E.CONCATENATION), now=NOW)
    pair = Pair(server, DATA[:30_000])
    known = pair.run(flow().create(ENDPOINT, length=30_000, concat="partial")).location
    server.uploads[known.name].data += DATA[:10_000]
    server.uploads[known.name].resource = server.uploads[known.name].resource.model_copy(
        update={"offset": 10_000}
    )
    progress = Progress(None, 30_000)
    again = pair.run(
        flow().part(ENDPOINT, known, Span(), length=30_000, checksum=None, progress=progress)
    )
    assert again == known
    assert pair.wire[1:] == [
        ("HEAD", None, 0),
        ("PATCH", "10000", 16_384),
        ("PATCH", "26384", 3_616),
    ]
    del server.uploads[known.name]
    fresh = pair.run(
        flow().part(ENDPOINT, known, Span(), length=30_000, checksum=None, progress=progress)
    )
    assert fresh != known
    assert bytes(server.uploads[fresh.name].data) == DATA[:30_000]


def test_expiration_is_reported_and_an_expired_upload_starts_afresh() -> None:
    server = RulesServer((E.CREATION, E.EXPIRATION), now=NOW)
    pair = Pair(server, DATA)
    location = pair.run(flow().create(ENDPOINT, length=len(DATA))).location
    assert pair.run(flow().status(location)).expires == NOW + timedelta(hours=1)
    server.now = NOW + timedelta(hours=2)
    plan = plan_upload(
        ENDPOINT,
        size=len(DATA),
        seekable=True,
        progress=Progress(None, len(DATA)),
        url=location,
        stored=None,
        resumable=False,
        metadata_header=None,
        checksum=None,
    )
    result = pair.run(flow().upload(plan))
    assert not result.resumed
    assert result.url != location
    assert result.expires == server.now + timedelta(hours=1)
    assert bytes(server.uploads[result.url.name].data) == DATA
