"""tuskit-client in IETF draft mode against tuskit-server's draft support
(``setup_tus(ietf_draft=True)``), in one process, for every interop version both speak.

A middleware records each request's method and headers, so the tests check the draft was
really spoken; stored bytes are read back from the upload directory by the upload's id.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from tuskit_client import (
    DRAFT_VERSIONS,
    CapabilityError,
    Client,
    RetryConfiguration,
    UploadNotFound,
    UploadResult,
    sync,
)
from tuskit_server import setup_tus

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MiB = 1024 * 1024
FAST = RetryConfiguration(retry_attempts=3, max_retry_period_seconds=0.05, base_delay_seconds=0.01)


@dataclass
class DraftServer:
    """The running server, what it was sent, and a switch that breaks one PATCH."""

    server: TestServer
    storage: Path
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail_patch: int | None = None

    @property
    def endpoint(self) -> str:
        return str(self.server.make_url("/files/"))

    def methods(self) -> list[str]:
        return [method for method, _ in self.seen]

    def stored_digest(self, result: UploadResult) -> str:
        upload_id = str(result.url).rstrip("/").rsplit("/", 1)[-1]
        matches = [p for p in self.storage.rglob(f"{upload_id}*") if p.suffix == ""]
        assert len(matches) == 1, matches
        return hashlib.sha256(matches[0].read_bytes()).hexdigest()

    def spoke_draft(self, version: int) -> bool:
        return all(
            fields.get("Upload-Draft-Interop-Version") == str(version)
            and "Tus-Resumable" not in fields
            for _, fields in self.seen
        )


@pytest.fixture
async def draft_server(aiohttp_server: AiohttpServer, tmp_path: Path) -> DraftServer:
    holder: dict[str, DraftServer] = {}

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        state = holder["server"]
        state.seen.append((request.method, dict(request.headers)))
        if request.method == "PATCH" and state.fail_patch is not None:
            if state.fail_patch == 0:
                state.fail_patch = None
                await request.content.readexactly(1000)  # a part, then a failure
                return web.Response(status=503, text="broken on purpose")
            state.fail_patch -= 1
        return await handler(request)

    app = web.Application(middlewares=[record])
    storage = tmp_path / "uploads"
    setup_tus(app, upload_path=storage, upload_url="/files", max_size=20 * MiB, ietf_draft=True)
    holder["server"] = DraftServer(await aiohttp_server(app), storage)
    return holder["server"]


def source(tmp_path: Path, size: int) -> tuple[Path, str]:
    data = bytes((index * 7 + 3) % 251 for index in range(size))
    path = tmp_path / f"source-{size}.bin"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("version", DRAFT_VERSIONS)
async def test_a_chunked_upload_in_each_interop_version(
    draft_server: DraftServer, tmp_path: Path, version: int
) -> None:
    path, digest = source(tmp_path, 3 * MiB + 5)
    async with Client(
        draft_server.endpoint, protocol="ietf-draft", draft_version=version, chunk_size=MiB
    ) as client:
        result = await client.upload(path, metadata={"filename": b"a.bin"})
        status = await client.info(result.url)
    assert (result.offset, result.length) == (3 * MiB + 5, 3 * MiB + 5)
    assert draft_server.stored_digest(result) == digest
    assert draft_server.spoke_draft(version)
    assert draft_server.methods() == ["OPTIONS", "POST", "PATCH", "PATCH", "PATCH", "HEAD"]
    assert (status.offset, status.is_complete) == (3 * MiB + 5, True)


async def test_a_small_upload_completes_in_its_creation_request(
    draft_server: DraftServer, tmp_path: Path
) -> None:
    path, digest = source(tmp_path, 1000)
    async with Client(draft_server.endpoint, protocol="ietf-draft") as client:
        result = await client.upload(path)
    assert draft_server.stored_digest(result) == digest
    assert draft_server.methods() == ["OPTIONS", "POST"]


async def test_a_stream_of_unknown_length(draft_server: DraftServer, tmp_path: Path) -> None:
    path, digest = source(tmp_path, 2 * MiB + 1)

    async def pieces() -> AsyncIterator[bytes]:
        data = path.read_bytes()
        for start in range(0, len(data), 100_000):
            yield data[start : start + 100_000]

    async with Client(draft_server.endpoint, protocol="ietf-draft", chunk_size=MiB) as client:
        result = await client.upload(pieces(), resume=False)
    assert result.length == 2 * MiB + 1
    assert draft_server.stored_digest(result) == digest
    assert draft_server.spoke_draft(8)


async def test_a_failed_append_is_retried_from_the_servers_offset(
    draft_server: DraftServer, tmp_path: Path
) -> None:
    path, digest = source(tmp_path, 3 * MiB)
    draft_server.fail_patch = 1
    async with Client(
        draft_server.endpoint, protocol="ietf-draft", chunk_size=MiB, config=FAST
    ) as client:
        result = await client.upload(path)
    assert draft_server.stored_digest(result) == digest
    assert "HEAD" in draft_server.methods()


class Interrupted(Exception):
    """Raised from the progress callback to stop the first run part-way."""


async def test_an_interrupted_upload_resumes_in_a_later_run(
    draft_server: DraftServer, tmp_path: Path
) -> None:
    path, digest = source(tmp_path, 4 * MiB)
    store = tmp_path / "urls.json"

    def stop(sent: int, acknowledged: int, total: int | None) -> None:
        if acknowledged >= MiB:
            raise Interrupted

    client_for_store = partial(
        Client, draft_server.endpoint, protocol="ietf-draft", chunk_size=MiB, store=store
    )
    async with client_for_store() as client:
        with pytest.raises(Interrupted):
            await client.upload(path, progress=stop)
    draft_server.seen.clear()
    async with client_for_store() as client:
        result = await client.upload(path)
    assert result.resumed
    assert draft_server.stored_digest(result) == digest
    assert draft_server.methods()[0] == "HEAD"
    assert draft_server.spoke_draft(8)


async def test_auto_speaks_the_draft_to_tuskit_server(
    draft_server: DraftServer, tmp_path: Path
) -> None:
    path, digest = source(tmp_path, 2 * MiB)
    async with Client(draft_server.endpoint, protocol="auto", chunk_size=MiB) as client:
        result = await client.upload(path, metadata={"filename": b"x", "filetype": b"a/b"})
    assert draft_server.stored_digest(result) == digest
    assert draft_server.spoke_draft(8)


async def test_upload_limit_refuses_a_too_large_source_before_any_data(
    draft_server: DraftServer, tmp_path: Path
) -> None:
    path, _ = source(tmp_path, 20 * MiB + 1)
    async with Client(draft_server.endpoint, protocol="ietf-draft") as client:
        with pytest.raises(CapabilityError, match="at most"):
            await client.upload(path)
    assert draft_server.methods() == ["OPTIONS"]


async def test_cancellation(draft_server: DraftServer, tmp_path: Path) -> None:
    path, _ = source(tmp_path, 1000)
    async with Client(draft_server.endpoint, protocol="ietf-draft") as client:
        result = await client.upload(path)
        await client.delete(result.url)
        with pytest.raises(UploadNotFound):
            await client.info(result.url)
    assert draft_server.methods()[-2:] == ["DELETE", "HEAD"]
    assert draft_server.spoke_draft(8)


async def test_the_blocking_client_in_draft_mode(draft_server: DraftServer, tmp_path: Path) -> None:
    path, digest = source(tmp_path, 2 * MiB + 3)

    def upload() -> UploadResult:
        with sync.Client(draft_server.endpoint, protocol="ietf-draft", chunk_size=MiB) as client:
            return client.upload(path)

    result = await asyncio.to_thread(upload)
    assert draft_server.stored_digest(result) == digest
    assert draft_server.methods() == ["OPTIONS", "POST", "PATCH", "PATCH"]
    assert draft_server.spoke_draft(8)
