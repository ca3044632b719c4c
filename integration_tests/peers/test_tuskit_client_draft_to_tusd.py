"""tuskit-client speaking the IETF resumable-upload draft to tusd 2.9.1 with
``-enable-experimental-protocol`` (interop versions 3 to 6, drafts -01 to -05).

Every request is recorded through an aiohttp trace, so each test also checks that the draft
was really spoken (``Upload-Draft-Interop-Version``, no ``Tus-Resumable``); stored bytes are
compared by SHA-256, and what tusd kept of the metadata is read from its ``.info`` file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.harness import MakeSource, SourceFile, sha256_file
from integration_tests.peers.drivers import PeerServer, PeerServerHandle, StartPeer, run_tus
from tuskit_client import (
    CapabilityError,
    Client,
    RetryConfiguration,
    UploadNotFound,
    UploadResult,
    sync,
)

pytestmark = pytest.mark.peers

MiB = 1024 * 1024
DRAFT = "-enable-experimental-protocol"
#: The interop versions tusd 2.9.1 speaks (its pkg/handler: drafts -01 to -05).
TUSD_VERSIONS = [3, 4, 5, 6]
FILENAME = "Zürich – 東京 ✓.bin"
METADATA: dict[str, bytes | None] = {
    "filename": FILENAME.encode(),
    "filetype": b"application/octet-stream",
}
NO_RETRY = RetryConfiguration(retry_attempts=0)
RETRY = RetryConfiguration(retry_attempts=4, base_delay_seconds=0.05)

Sent = list[tuple[str, CIMultiDict[str]]]


@asynccontextmanager
async def traced_client(
    url: str, version: int, *, protocol: str = "ietf-draft", **options: Any
) -> AsyncIterator[tuple[Client, Sent]]:
    """A client on a session that records each request's method and headers."""
    sent: Sent = []

    async def on_start(
        _: aiohttp.ClientSession, __: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        sent.append((params.method, CIMultiDict(params.headers)))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        options.setdefault("config", NO_RETRY)
        options.setdefault("chunk_size", MiB)
        async with Client(
            url, session=session, protocol=protocol, draft_version=version, **options
        ) as client:
            yield client, sent


@pytest.fixture
def draft_tusd(start_peer: StartPeer) -> PeerServerHandle:
    """tusd with its IETF draft support on."""
    return start_peer(PeerServer.TUSD, DRAFT)


def assert_spoke_draft(sent: Sent, version: int) -> None:
    assert sent
    for method, fields in sent:
        assert fields.get("Upload-Draft-Interop-Version") == str(version), (method, fields)
        assert "Tus-Resumable" not in fields, (method, fields)
        if method == "PATCH" and version >= 6:
            assert fields["Content-Type"] == "application/partial-upload"


def tusd_info(server: PeerServerHandle, url: str) -> dict[str, Any]:
    """What tusd's file store keeps about an upload (``<id>.info``)."""
    path = server.stored(url)
    info: dict[str, Any] = json.loads(path.with_name(path.name + ".info").read_text())
    return info


def check_stored(server: PeerServerHandle, result: UploadResult, source: SourceFile) -> None:
    assert (result.offset, result.length) == (source.size, source.size)
    assert sha256_file(server.stored(str(result.url))) == source.sha256


@pytest.mark.parametrize("version", TUSD_VERSIONS)
async def test_a_chunked_upload_in_each_interop_version(
    version: int, draft_tusd: PeerServerHandle, make_source: MakeSource
) -> None:
    server = draft_tusd
    source = make_source(3 * MiB + 5)
    async with traced_client(server.url, version) as (client, sent):
        result = await client.upload(source.path, metadata=METADATA)
    check_stored(server, result, source)
    assert_spoke_draft(sent, version)
    assert [method for method, _ in sent] == ["OPTIONS", "POST", "PATCH", "PATCH", "PATCH"]
    complete = "Upload-Incomplete" if version == 3 else "Upload-Complete"
    assert [fields[complete] for _, fields in sent[1:]] == (
        ["?1", "?1", "?1", "?0"] if version == 3 else ["?0", "?0", "?0", "?1"]
    )
    info = tusd_info(server, str(result.url))
    # tusd reads the draft's metadata from Content-Disposition (filename*) and Content-Type.
    assert info["MetaData"] == {"filename": FILENAME, "filetype": "application/octet-stream"}
    assert (info["Size"], info["SizeIsDeferred"]) == (source.size, False)


async def test_a_small_upload_is_complete_with_its_creation_request(
    draft_tusd: PeerServerHandle, make_source: MakeSource
) -> None:
    server = draft_tusd
    source = make_source(1000)
    async with traced_client(server.url, 6) as (client, sent):
        result = await client.upload(source.path)
        status = await client.info(result.url)
    check_stored(server, result, source)
    assert [method for method, _ in sent] == ["OPTIONS", "POST", "HEAD"]
    assert sent[1][1]["Upload-Complete"] == "?1"
    assert (status.offset, status.length, status.is_complete) == (1000, 1000, True)


async def test_a_stream_of_unknown_length_completes_with_its_last_append(
    draft_tusd: PeerServerHandle, make_source: MakeSource
) -> None:
    server = draft_tusd
    source = make_source(2 * MiB + 7)

    async def pieces() -> AsyncIterator[bytes]:
        with source.path.open("rb") as file:
            while piece := file.read(300_000):
                yield piece

    async with traced_client(server.url, 6) as (client, sent):
        result = await client.upload(pieces(), resume=False)
    check_stored(server, result, source)
    assert "Upload-Length" not in sent[1][1]
    assert sent[-1][1]["Upload-Complete"] == "?1"
    assert_spoke_draft(sent, 6)


@pytest.mark.parametrize("draft_on", [True, False], ids=["experimental", "tus-only"])
async def test_auto_speaks_the_draft_only_where_tusd_announces_it(
    draft_on: bool, start_peer: StartPeer, make_source: MakeSource
) -> None:
    server = start_peer(PeerServer.TUSD, *([DRAFT] if draft_on else []))
    source = make_source(2 * MiB)
    async with traced_client(server.url, 6, protocol="auto") as (client, sent):
        result = await client.upload(source.path, metadata=METADATA)
    check_stored(server, result, source)
    posted = dict(sent[1][1])
    if draft_on:
        assert_spoke_draft(sent[1:], 6)
    else:
        assert posted.get("Tus-Resumable") == "1.0.0"
        assert "Upload-Draft-Interop-Version" not in posted


async def test_auto_with_a_version_tusd_does_not_know_falls_back_to_tus(
    draft_tusd: PeerServerHandle, make_source: MakeSource
) -> None:
    server = draft_tusd
    source = make_source(1000)
    async with traced_client(server.url, 8, protocol="auto") as (client, sent):
        result = await client.upload(source.path)
        with pytest.raises(CapabilityError, match="interop version 8"):
            async with traced_client(server.url, 8) as (draft_client, _):
                await draft_client.upload(source.path)
    check_stored(server, result, source)
    assert sent[1][1].get("Tus-Resumable") == "1.0.0"


class Interrupted(Exception):
    """Raised from the progress callback to stop the first run part-way."""


def stop_after_a_mebibyte(sent: int, acknowledged: int, total: int | None) -> None:
    if acknowledged >= MiB:
        raise Interrupted


async def test_an_interrupted_upload_resumes_in_a_later_run(
    draft_tusd: PeerServerHandle, make_source: MakeSource, tmp_path: Path
) -> None:
    server = draft_tusd
    source = make_source(4 * MiB + 3)
    store = tmp_path / "urls.json"

    async with traced_client(server.url, 6, store=store) as (client, _):
        with pytest.raises(Interrupted):
            await client.upload(source.path, progress=stop_after_a_mebibyte)
    async with traced_client(server.url, 6, store=store) as (client, sent):
        result = await client.upload(source.path)
    assert result.resumed
    check_stored(server, result, source)
    assert_spoke_draft(sent, 6)
    assert sent[0][0] == "HEAD"
    assert int(sent[1][1]["Upload-Offset"]) >= MiB


async def test_the_blocking_client_resumes_in_draft_mode_past_tusds_104(
    draft_tusd: PeerServerHandle, make_source: MakeSource, tmp_path: Path
) -> None:
    """tusd answers every draft creation with a 104 first, which http.client alone would
    take for the final answer."""
    server = draft_tusd
    source = make_source(3 * MiB + 3)
    store = tmp_path / "urls.json"

    def upload(**options: Any) -> UploadResult:
        with sync.Client(
            server.url, protocol="ietf-draft", draft_version=6, chunk_size=MiB, store=store
        ) as client:
            return client.upload(source.path, **options)

    with pytest.raises(Interrupted):
        await asyncio.to_thread(upload, progress=stop_after_a_mebibyte)
    result = await asyncio.to_thread(upload)
    assert result.resumed
    check_stored(server, result, source)


async def test_a_cut_mid_append_is_retried_from_the_servers_offset(
    draft_tusd: PeerServerHandle, make_source: MakeSource
) -> None:
    server = draft_tusd
    source = make_source(6 * MiB)
    async with FaultProxy(server.url) as proxy:
        proxy.inject(Fault(cut_upstream_after=3 * MiB // 2))
        async with traced_client(proxy.url, 6, config=RETRY, chunk_size=None) as (client, sent):
            result = await client.upload(source.path)
        assert proxy.faulted == 1
    check_stored(server, result, source)
    methods = [method for method, _ in sent]
    assert methods[:3] == ["OPTIONS", "POST", "PATCH"]
    assert "HEAD" in methods[3:]
    resumed_at = int(sent[methods.index("HEAD", 3) + 1][1]["Upload-Offset"])
    assert 0 < resumed_at < source.size


async def test_cancellation_deletes_the_upload(
    draft_tusd: PeerServerHandle, make_source: MakeSource
) -> None:
    server = draft_tusd
    source = make_source(1000)
    async with traced_client(server.url, 6) as (client, sent):
        result = await client.upload(source.path)
        await client.delete(result.url)
        with pytest.raises(UploadNotFound):
            await client.info(result.url)
    assert [method for method, _ in sent][-2:] == ["DELETE", "HEAD"]
    assert_spoke_draft(sent, 6)
    assert not server.stored(str(result.url)).exists()


async def test_tus_upload_protocol_ietf_draft_end_to_end(
    draft_tusd: PeerServerHandle, make_source: MakeSource, tmp_path: Path
) -> None:
    server = draft_tusd
    source = make_source(3 * MiB + 1)
    options = ["-q", "--store", str(tmp_path / "store.json"), "--chunk-size", "1MiB"]
    options += ["--protocol", "ietf-draft", "--draft-version", "6"]
    code, out, err = await run_tus("upload", *options, server.url, str(source.path))
    assert code == 0, err
    url = out.strip()
    assert sha256_file(server.stored(url)) == source.sha256
    info = tusd_info(server, url)
    assert info["MetaData"]["filename"] == source.path.name
    # A draft version tusd does not speak: one readable line, exit 1.
    code, out, err = await run_tus(
        "upload", *options[:-1], "8", "--no-resume", server.url, str(source.path)
    )
    assert (code, out) == (1, "")
    assert "does not speak the IETF draft (interop version 8)" in err
    assert "Traceback" not in err
