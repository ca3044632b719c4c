"""tuskit-client to tuskit-server through the fault proxy, and across a server crash.

tuskit-server runs as ``python -m tuskit_server`` on a free loopback port; the client talks
to it through :class:`~integration_tests.faultproxy.FaultProxy`. The client gets a session
that opens one connection per request, so a fault injected for the n-th connection hits the
n-th request: 1 OPTIONS, 2 POST (with the first chunk: creation-with-upload), 3 the first
PATCH, ... Every case must end with the stored bytes equal to the source (SHA-256), the
stored offset equal to the length, and nothing but the data and info file in the store.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.harness import (
    HttpProbe,
    MakeSource,
    RunningServer,
    SourceFile,
    StartServer,
    free_port,
    sha256_file,
)
from tuskit_client import Client, RetryConfiguration, UploadResult
from tuskit_common import Resource

MiB = 1024 * 1024
CHUNK = MiB
#: Quick retries: faults are injected on purpose, waiting longer proves nothing.
RETRY = RetryConfiguration(retry_attempts=20, max_retry_period_seconds=0.5, base_delay_seconds=0.05)
#: A stalled connection must be given up on: no byte for this long is a read timeout.
TIMEOUT = aiohttp.ClientTimeout(sock_connect=5, sock_read=1.5)


class Tuskit:
    def __init__(self, running: RunningServer, directory: Path) -> None:
        self.running = running
        self.directory = directory

    def check_stored(self, result: UploadResult, source: SourceFile) -> int:
        """The upload is byte-identical and complete, and nothing in the store is
        half-written: no chunk marker is left, no data file runs past its length (the data
        file's size is the offset: the info file records the offset of its last write
        only), and no other file lies around. Returns the number of uploads."""
        upload_id = str(result.url).rstrip("/").rsplit("/", 1)[-1]
        ids = {p.name.removesuffix(".info") for p in self.directory.glob("*.info")}
        assert upload_id in ids
        for other in ids:
            info = Resource.model_validate_json((self.directory / f"{other}.info").read_text())
            size = (self.directory / other).stat().st_size
            assert "chunk_start" not in info.storage
            assert info.length is None or size <= info.length
            if other == upload_id:
                assert (size, info.length) == (source.size, source.size)
        assert sha256_file(self.directory / upload_id) == source.sha256
        expected = {name for i in ids for name in (i, f"{i}.info")}
        assert {p.name for p in self.directory.iterdir()} == expected
        return len(ids)


@pytest.fixture
def tuskit(start_server: StartServer, tmp_path: Path) -> Tuskit:
    directory = tmp_path / "store"
    port = free_port()
    url = f"http://127.0.0.1:{port}/uploads"
    argv = [sys.executable, "-m", "tuskit_server", "--storage", str(directory), "--port", str(port)]
    argv += ["--base-path", "/uploads"]
    return Tuskit(start_server(argv, ready=HttpProbe(url)), directory)


@pytest.fixture
async def proxy(tuskit: Tuskit) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(tuskit.running.url) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(force_close=True)  # one connection per request
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as running:
        yield running


async def _upload(
    proxy: FaultProxy, session: aiohttp.ClientSession, source: SourceFile
) -> UploadResult:
    async with Client(proxy.url, session=session, config=RETRY, chunk_size=CHUNK) as client:
        return await client.upload(source.path, metadata={"filename": b"faults.bin"})


def _on_request(proxy: FaultProxy, number: int, fault: Fault) -> None:
    """Inject ``fault`` on the ``number``-th connection from now (1-based)."""
    proxy.inject(Fault(), times=number - 1)
    proxy.inject(fault)


@pytest.mark.parametrize(
    ("request_number", "fault"),
    [
        pytest.param(3, Fault(cut_upstream_after=300_000), id="cut-mid-PATCH"),
        pytest.param(2, Fault(cut_upstream_after=200_000), id="cut-mid-POST-with-data"),
        pytest.param(3, Fault(stall_upstream_after=500_000), id="stall-mid-PATCH"),
        pytest.param(3, Fault(reset_downstream_after=20), id="reset-in-PATCH-response"),
        pytest.param(2, Fault(reset_downstream_after=20), id="reset-in-POST-response"),
    ],
)
async def test_fault_then_recovery(
    request_number: int,
    fault: Fault,
    tuskit: Tuskit,
    proxy: FaultProxy,
    session: aiohttp.ClientSession,
    make_source: MakeSource,
) -> None:
    source = make_source(4 * MiB + 11)
    _on_request(proxy, request_number, fault)
    result = await _upload(proxy, session, source)
    assert proxy.pending_faults == 0, "the fault never fired"
    uploads = tuskit.check_stored(result, source)
    # A creation whose answer was lost leaves one unfinished upload behind (the client never
    # saw its Location; expiration removes it); every other fault is recovered in place.
    assert uploads == (2 if request_number == 2 else 1)


async def test_bandwidth_limit(
    tuskit: Tuskit, proxy: FaultProxy, session: aiohttp.ClientSession, make_source: MakeSource
) -> None:
    source = make_source(2 * MiB)
    proxy.inject(Fault(bytes_per_second=8 * MiB), times=100)
    result = await _upload(proxy, session, source)
    tuskit.check_stored(result, source)


async def test_server_killed_and_restarted_mid_upload(
    tuskit: Tuskit, proxy: FaultProxy, session: aiohttp.ClientSession, make_source: MakeSource
) -> None:
    """SIGKILL the server while a PATCH streams in, start it again, let the client resume."""
    source = make_source(8 * MiB)
    proxy.inject(Fault(bytes_per_second=4 * MiB), times=1000)  # slow enough to hit mid-PATCH
    killed = asyncio.Event()

    def progress(sent: int, acknowledged: int, total: int | None) -> None:
        if acknowledged >= 2 * MiB and sent > acknowledged and not killed.is_set():
            killed.set()
            tuskit.running.server.kill()

    async def restart_when_killed() -> None:
        await killed.wait()
        await asyncio.to_thread(tuskit.running.restart)

    restarter = asyncio.ensure_future(restart_when_killed())
    async with Client(proxy.url, session=session, config=RETRY, chunk_size=CHUNK) as client:
        result = await client.upload(
            source.path, metadata={"filename": b"crash.bin"}, progress=progress
        )
    await restarter
    assert killed.is_set()
    tuskit.check_stored(result, source)
