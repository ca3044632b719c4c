"""The deployment guide, tested: nginx with ``examples/deploy/nginx.conf`` (the file the guide
includes) terminates HTTPS in front of ``tus serve --behind-proxy``; 1 GiB goes through it in
one request and in chunks, upload URLs carry the public host and scheme, nginx streams the
body instead of buffering it (its temporary folder stays empty, its memory small), and an
interrupted upload resumes through it. Loopback ports only."""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import trustme

from integration_tests.nginx import (
    files_open_in,
    main_config,
    nginx_binary,
    peak_rss_kib,
    site_config,
)
from integration_tests.processes import process_tree
from tuskit_client import Client, MemoryStore, RetryConfiguration

GiB = 1 << 30
MiB = 1 << 20
#: nginx's worker stays far below this while it passes 1 GiB on (it holds no body in memory).
NGINX_PEAK_RSS_LIMIT_KIB = 64 * 1024


@dataclass(frozen=True)
class Source:
    path: Path
    sha256: str


@dataclass(frozen=True)
class Deployment:
    public: str  # https://127.0.0.1:<nginx port>/files/
    direct: str  # http://127.0.0.1:<tus serve port>/files/
    storage: Path
    body_temp: Path
    nginx_pid: int
    tls: ssl.SSLContext


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """1 GiB, sparse: zeros with 1 MiB of random bytes every 64 MiB (written once)."""
    path = tmp_path_factory.mktemp("source") / "one.gib"
    with path.open("wb") as file:
        file.truncate(GiB)
        for start in range(0, GiB, 64 * MiB):
            file.seek(start)
            file.write(os.urandom(MiB))
    return Source(path, _sha256(path))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _first_line(process: subprocess.Popen[bytes], seconds: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, "tus serve printed no URL"
    return process.stdout.readline().decode().strip()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        assert process.poll() is None, "nginx exited at start-up"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx is not listening on 127.0.0.1:{port}")


def _stop(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None:
        process.send_signal(signum)
    assert process.wait(30) == 0
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    nginx = nginx_binary()
    work = tmp_path_factory.mktemp("deploy")
    storage = work / "uploads"
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tuskit_cli",
            "serve",
            "--port",
            "0",
            "--behind-proxy",
            "--storage",
            str(storage),
            "--no-access-log",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        direct = _first_line(serve, 30)
        upstream = int(direct.split(":")[2].split("/")[0])
        ca = trustme.CA()
        issued = ca.issue_cert("127.0.0.1")
        cert, key = work / "fullchain.pem", work / "privkey.pem"
        for blob in issued.cert_chain_pems:
            blob.write_to_path(str(cert), append=True)
        issued.private_key_pem.write_to_path(str(key))
        listen = _free_port()
        site = work / "tuskit.conf"
        site.write_text(site_config(listen=listen, upstream=upstream, cert=cert, key=key))
        main = work / "nginx.conf"
        main.write_text(main_config(work, site))
        proxy = subprocess.Popen(
            [nginx, "-p", str(work), "-e", str(work / "error.log"), "-c", str(main)]
        )
        try:
            _wait_for_port(listen, proxy)
            tls = ssl.create_default_context()
            ca.configure_trust(tls)
            yield Deployment(
                public=f"https://127.0.0.1:{listen}/files/",
                direct=direct,
                storage=storage,
                body_temp=work / "client_body",
                nginx_pid=proxy.pid,
                tls=tls,
            )
        finally:
            _stop(proxy, signal.SIGQUIT)  # graceful shutdown
        print(f"\nnginx peak RSS per process (KiB): {_rss_report}")
    finally:
        _stop(serve, signal.SIGTERM)


_rss_report: dict[int, int] = {}


def _nginx_peak_rss(deployment: Deployment) -> int:
    """The largest peak RSS (KiB) among nginx's processes, master and worker."""
    for pid in process_tree(deployment.nginx_pid):
        _rss_report[pid] = peak_rss_kib(pid)
    return max(_rss_report.values())


async def _watch_body_temp(deployment: Deployment, seen: list[str]) -> None:
    """Record every file nginx holds open in its client-body folder, every 20 ms."""
    pids = process_tree(deployment.nginx_pid)
    while True:
        seen += files_open_in(pids, deployment.body_temp)
        await asyncio.sleep(0.02)


def _stored_bytes(storage: Path) -> int:
    """The bytes of the upload data files in tus serve's storage now."""
    return sum(p.stat().st_size for p in storage.iterdir() if p.suffix not in (".info", ".gone"))


async def _upload(deployment: Deployment, source: Source, chunk_size: int | None) -> str:
    buffered: list[str] = []
    # (bytes the client has sent, bytes tus serve has stored) at each progress call
    moments: list[tuple[int, int]] = []

    def progress(sent: int, acknowledged: int, total: int | None) -> None:
        moments.append((sent, _stored_bytes(deployment.storage)))

    watcher = asyncio.create_task(_watch_body_temp(deployment, buffered))
    started = time.perf_counter()
    try:
        config = RetryConfiguration(ssl=deployment.tls)
        async with Client(deployment.public, chunk_size=chunk_size, config=config) as client:
            result = await client.upload(source.path, progress=progress)
    finally:
        watcher.cancel()
    seconds = time.perf_counter() - started
    how = "one request" if chunk_size is None else f"{chunk_size // MiB} MiB chunks"
    print(f"\n1 GiB through nginx, {how}: {GiB / seconds / 1e6:.0f} MB/s")
    assert not buffered, f"nginx buffered the body in temporary files: {sorted(set(buffered))[:3]}"
    # Streamed: tus serve stored bytes while the client was still sending the first
    # request (a buffering proxy passes nothing on before the whole body has arrived).
    first_request = chunk_size or GiB
    assert any(stored > 0 and sent < first_request for sent, stored in moments), moments[-5:]
    url = str(result.url)
    assert url.startswith(deployment.public), url
    stored = deployment.storage / url.rsplit("/", 1)[1]
    assert _sha256(stored) == source.sha256
    stored.unlink()  # keep the disk free for the next test
    return url


async def test_one_request_streams_through_nginx(deployment: Deployment, source: Source) -> None:
    await _upload(deployment, source, None)
    assert _nginx_peak_rss(deployment) < NGINX_PEAK_RSS_LIMIT_KIB


async def test_chunks_stream_through_nginx(deployment: Deployment, source: Source) -> None:
    await _upload(deployment, source, 64 * MiB)
    assert _nginx_peak_rss(deployment) < NGINX_PEAK_RSS_LIMIT_KIB


async def test_location_carries_the_public_host_and_scheme(deployment: Deployment) -> None:
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "5"}
    async with aiohttp.ClientSession() as session:
        async with session.post(deployment.public, headers=headers, ssl=deployment.tls) as made:
            assert made.status == 201
            location = made.headers["Location"]
        assert location.startswith(deployment.public), location
        async with session.head(location, headers=headers, ssl=deployment.tls) as head:
            assert head.status == 200
            assert head.headers["Upload-Offset"] == "0"
        # Straight to tus serve, without the proxy's headers, the URL is the upstream's.
        async with session.post(deployment.direct, headers=headers) as made:
            assert made.status == 201
            assert made.headers["Location"].startswith(deployment.direct)


async def test_interrupted_upload_resumes_through_nginx(
    deployment: Deployment, source: Source
) -> None:
    store = MemoryStore()
    config = RetryConfiguration(ssl=deployment.tls)
    before = set(deployment.storage.glob("*.info"))
    halfway = asyncio.Event()

    def progress(sent: int, acknowledged: int, total: int | None) -> None:
        if sent >= GiB // 4:
            halfway.set()

    async with Client(deployment.public, chunk_size=None, config=config, store=store) as client:
        first = asyncio.create_task(client.upload(source.path, progress=progress))
        await asyncio.wait_for(halfway.wait(), 120)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        previous = await client.find_previous(source.path)
        assert previous is not None
        assert previous.url is not None
        assert previous.url.startswith(deployment.public)
    created = set(deployment.storage.glob("*.info")) - before
    assert len(created) == 1
    async with Client(deployment.public, chunk_size=None, config=config, store=store) as client:
        info = await client.info(previous.url)
        assert 0 < info.offset < GiB  # the bytes that came through before the interruption
        result = await client.upload(source.path)
    assert str(result.url) == previous.url
    assert set(deployment.storage.glob("*.info")) - before == created  # resumed, not new
    stored = deployment.storage / previous.url.rsplit("/", 1)[1]
    assert _sha256(stored) == source.sha256
    stored.unlink()
