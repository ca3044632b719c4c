"""Matrix, direction 2: tuskit-client uploads to every peer server.

Each case either passes (stored bytes equal the source by SHA-256, metadata equal to what the
server can keep) or, where the peer lacks the feature, asserts the clean error tuskit-client
gives and the peer behaviour that explains it. The explanations, with their evidence in the
peers' source, are in ``integration_tests/README.md``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest

from integration_tests.harness import MakeSource, SourceFile, sha256_file
from integration_tests.peers.drivers import PeerServer, PeerServerHandle, StartPeer
from tuskit_client import (
    CapabilityError,
    Client,
    ResponseError,
    RetryConfiguration,
    UploadNotFound,
    UploadResult,
)
from tuskit_client import metadata as fetch_metadata

pytestmark = pytest.mark.peers

MiB = 1024 * 1024
FILENAME = "Zürich – 東京 ✓.bin"
#: No retries: a peer's refusal must surface at once, not after a minute of backoff.
NO_RETRY = RetryConfiguration(retry_attempts=0)
#: aiohttp-tus reads every PATCH body whole under aiohttp's 1 MiB ``client_max_size``.
CHUNK = {PeerServer.TUS_NODE_SERVER: MiB, PeerServer.AIOHTTP_TUS: 512 * 1024}


def _metadata(peer: PeerServer, *, key_only: bool = True) -> dict[str, bytes | None]:
    metadata: dict[str, bytes | None] = {"filename": FILENAME.encode(), "note": "naïve ß".encode()}
    if peer is PeerServer.TUSPYSERVER:
        # tuspyserver answers HEAD with 400 unless filename and filetype are both present.
        metadata["filetype"] = b"application/octet-stream"
    if key_only:
        metadata["flag"] = None
    return metadata


async def _stored_metadata(server: PeerServerHandle, url: str) -> dict[str, bytes | None]:
    """What the peer kept of the metadata, decoded."""
    if server.peer is PeerServer.TUSPYSERVER:
        # HEAD echoes only filename and filetype: read the info file it stores.
        info = json.loads(server.stored(url).with_suffix(".info").read_text())
        return {k: v.encode() for k, v in info["metadata"].items()}
    found = await fetch_metadata(url, config=NO_RETRY)
    assert found is not None
    return dict(found)


def _client(
    server: PeerServerHandle, store: Path | None = None, config: RetryConfiguration = NO_RETRY
) -> Client:
    chunk = CHUNK.get(server.peer, MiB)
    return Client(server.url, config=config, chunk_size=chunk, store=store)


async def _check_stored(
    server: PeerServerHandle, result: UploadResult, source: SourceFile, filename: str = FILENAME
) -> None:
    assert result.offset == source.size
    assert sha256_file(server.stored(str(result.url), filename)) == source.sha256


SIZES = {"small": 1000, "multi-chunk": 3 * MiB + 5, "64MiB": 64 * MiB}
SERVERS = list(PeerServer)
#: The peer servers that offer concatenation (OPTIONS ``Tus-Extension``).
CONCATENATING = {PeerServer.TUSPYSERVER, PeerServer.TUSD}


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_sizes(
    peer: PeerServer, size_name: str, start_peer: StartPeer, make_source: MakeSource
) -> None:
    server = start_peer(peer)
    source = make_source(SIZES[size_name])
    async with _client(server) as client:
        result = await client.upload(source.path, metadata=_metadata(peer, key_only=False))
        if peer is not PeerServer.AIOHTTP_TUS:  # [H3]: see the test below
            info = await client.info(result.url)
            assert (info.offset, info.length) == (source.size, source.size)
    await _check_stored(server, result, source)


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_empty(peer: PeerServer, start_peer: StartPeer, make_source: MakeSource) -> None:
    server = start_peer(peer)
    source = make_source(0)
    async with _client(server) as client:
        result = await client.upload(source.path, metadata=_metadata(peer, key_only=False))
    assert result.offset == 0
    if peer is PeerServer.AIOHTTP_TUS:
        # n.a.: aiohttp-tus pre-allocates by writing a NUL at size-1 (-1 for an empty upload,
        # so one byte) and moves the file to <filename> only in a PATCH; an empty upload has
        # none, so it stays a 1-byte file under .resources/ and is never finished.
        assert not (server.directory / FILENAME).exists()
        leftovers = list((server.directory / ".resources").iterdir())
        assert [p.stat().st_size for p in leftovers] == [1]
        return
    await _check_stored(server, result, source)


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_metadata_non_ascii_and_key_only(
    peer: PeerServer, start_peer: StartPeer, make_source: MakeSource
) -> None:
    server = start_peer(peer)
    source = make_source(1000)
    metadata = _metadata(peer)
    async with _client(server) as client:
        if peer is PeerServer.AIOHTTP_TUS:
            # n.a.: aiohttp-tus unpacks each pair as `key, value = pair.split(" ")`: a key-only
            # pair raises ValueError inside the POST handler -> 500.
            with pytest.raises(ResponseError) as caught:
                await client.upload(source.path, metadata=metadata)
            assert caught.value.status == 500
            # Without the key-only pair the non-ASCII filename is kept (as the stored name);
            # HEAD carries no Upload-Metadata, so that is all one can compare.
            del metadata["flag"]
            result = await client.upload(source.path, metadata=metadata)
            await _check_stored(server, result, source)
            return
        result = await client.upload(source.path, metadata=metadata)
    await _check_stored(server, result, source)
    stored = await _stored_metadata(server, str(result.url))
    if peer is PeerServer.TUSPYSERVER:
        # tuspyserver keeps a key-only pair as an empty string: the distinction is lost.
        metadata["flag"] = b""
    assert stored == metadata


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_parallel_4(peer: PeerServer, start_peer: StartPeer, make_source: MakeSource) -> None:
    server = start_peer(peer)
    source = make_source(4 * MiB + 3)
    async with _client(server) as client:
        result = await client.upload(
            source.path, metadata=_metadata(peer, key_only=False), parallel=4
        )
    await _check_stored(server, result, source)
    if peer in CONCATENATING:
        assert len(result.parts) == 4
    else:
        # n.a. as parallel: no concatenation (OPTIONS lacks it), so tuskit-client falls back
        # to one upload instead of failing the way tus-js-client does (501 from @tus/server).
        assert result.parts == ()


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_upload_many(
    peer: PeerServer, start_peer: StartPeer, make_source: MakeSource
) -> None:
    server = start_peer(peer)
    parts = [make_source(MiB + 1), make_source(7), make_source(2 * MiB)]
    metadata = _metadata(peer, key_only=False)
    async with _client(server) as client:
        if peer not in CONCATENATING:
            # n.a.: @tus/file-store and aiohttp-tus do not offer concatenation.
            with pytest.raises(CapabilityError, match="concatenation"):
                await client.upload_many([p.path for p in parts], metadata=metadata)
            return
        result = await client.upload_many([p.path for p in parts], metadata=metadata)
    joined = b"".join(p.path.read_bytes() for p in parts)
    assert server.stored(str(result.url)).read_bytes() == joined


async def _stream(path: Path, block: int) -> AsyncIterator[bytes]:
    data = await asyncio.to_thread(path.read_bytes)
    for start in range(0, len(data), block):
        yield data[start : start + block]
        await asyncio.sleep(0)


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_deferred_length_stream(
    peer: PeerServer, start_peer: StartPeer, make_source: MakeSource
) -> None:
    server = start_peer(peer)
    source = make_source(2 * MiB + 9)
    metadata = _metadata(peer, key_only=False)
    if peer is PeerServer.AIOHTTP_TUS:
        # n.a.: aiohttp-tus has no creation-defer-length, and hides it: an OPTIONS without
        # Tus-Resumable (clients SHOULD NOT send it there) gets a bare 200 with no Tus-Version
        # or Tus-Extension (views.upload_options). A deferred upload would be taken as length
        # 0 and never finished while every PATCH answers 204, so tuskit-client refuses it
        # before creating anything.
        async with _client(server) as client:
            with pytest.raises(CapabilityError, match="creation-defer-length"):
                await client.upload(_stream(source.path, 100_000), metadata=metadata)
        assert not any((server.directory / ".metadata").glob("*.json"))
        return
    async with _client(server) as client:
        result = await client.upload(_stream(source.path, 100_000), metadata=metadata)
    await _check_stored(server, result, source)


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_creation_with_upload(
    peer: PeerServer, start_peer: StartPeer, make_source: MakeSource
) -> None:
    """The first chunk rides in the POST wherever the server offers creation-with-upload."""
    server = start_peer(peer)
    source = make_source(2 * MiB + 1)
    posts: list[str | None] = []

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if params.method == "POST":
            posts.append(params.headers.get("Content-Type"))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        chunk = CHUNK.get(server.peer, MiB)
        async with Client(server.url, session=session, config=NO_RETRY, chunk_size=chunk) as client:
            result = await client.upload(source.path, metadata=_metadata(peer, key_only=False))
    await _check_stored(server, result, source)
    if peer is PeerServer.AIOHTTP_TUS:
        # n.a.: aiohttp-tus offers no creation-with-upload (and ignores a POST body).
        assert posts == [None]
    else:
        assert posts == ["application/offset+octet-stream"]


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_checksum(peer: PeerServer, start_peer: StartPeer, make_source: MakeSource) -> None:
    """No peer server offers the checksum extension: a clean refusal before any data."""
    server = start_peer(peer)
    source = make_source(1000)
    async with _client(server) as client:
        with pytest.raises(CapabilityError, match="checksum"):
            await client.upload(
                source.path, metadata=_metadata(peer, key_only=False), checksum="sha256"
            )


async def _cancel_after(
    upload: Callable[[Callable[[int, int, int | None], None]], Awaitable[UploadResult]],
    acknowledged_bytes: int,
) -> None:
    """Run an upload and cancel it once the server acknowledged ``acknowledged_bytes``."""
    reached = asyncio.Event()

    def progress(sent: int, acknowledged: int, total: int | None) -> None:
        if acknowledged >= acknowledged_bytes:
            reached.set()

    task = asyncio.ensure_future(upload(progress))
    waiter = asyncio.ensure_future(reached.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    assert waiter in done, "the upload finished before it could be interrupted"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("peer", SERVERS, ids=str)
async def test_resume_after_abort(
    peer: PeerServer, start_peer: StartPeer, make_source: MakeSource, tmp_path: Path
) -> None:
    server = start_peer(peer)
    source = make_source(4 * MiB)
    store = tmp_path / "tuskit-urls.json"
    metadata = _metadata(peer, key_only=False)
    async with _client(server, store=store) as client:
        await _cancel_after(
            lambda progress: client.upload(source.path, metadata=metadata, progress=progress),
            MiB,
        )
    # Retries on: tuspyserver answers HEAD without taking the upload's lock, so while the
    # interrupted PATCH is still being saved HEAD can report the offset from before it, and
    # the next PATCH gets 409. A 409 is retried (re-HEAD, continue), as tus-js-client does.
    retry = RetryConfiguration(retry_attempts=3, base_delay_seconds=0.05)
    async with _client(server, store=store, config=retry) as client:
        result = await client.upload(source.path, metadata=metadata)
    assert result.resumed
    await _check_stored(server, result, source)


async def test_aiohttp_tus_caps_chunks_and_forgets_finished_uploads(
    start_peer: StartPeer, make_source: MakeSource
) -> None:
    """Evidence for [H3] and [H4] of the README: aiohttp-tus reads each PATCH whole under
    aiohttp's 1 MiB ``client_max_size`` (a 2 MiB chunk gets 413, which tuskit-client reports
    as a clean ``ResponseError``), and once an upload is complete HEAD answers 404."""
    server = start_peer(PeerServer.AIOHTTP_TUS)
    source = make_source(3 * MiB)
    metadata = {"filename": b"big-chunks.bin"}
    async with Client(server.url, config=NO_RETRY, chunk_size=2 * MiB) as client:
        with pytest.raises(ResponseError) as caught:
            await client.upload(source.path, metadata=metadata)
    assert (caught.value.status, caught.value.method) == (413, "PATCH")
    async with _client(server) as client:
        result = await client.upload(source.path, metadata={"filename": b"small-chunks.bin"})
        await _check_stored(server, result, source, "small-chunks.bin")
        with pytest.raises(UploadNotFound):
            await client.info(result.url)
