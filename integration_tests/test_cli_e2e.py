"""The real ``tus`` processes end to end: serve, upload, metadata, kill-and-resume, stdin,
a clean shutdown that keeps the bytes of an interrupted PATCH, and ``--workers``.

Every process is ``python -m tuskit_cli`` from the session's environment; the server binds
port 0 on loopback and prints its creation URL as its first stdout line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.harness import free_port
from integration_tests.processes import is_running, process_tree

TUS = (sys.executable, "-m", "tuskit_cli")
WAIT = 60.0


@asynccontextmanager
async def tus_serve(
    storage: Path, *extra: str, port: int = 0, command: Sequence[str] = TUS
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """Run ``tus serve`` (``command``) over ``storage``; yield its URL and process, then
    stop it."""
    process = await asyncio.create_subprocess_exec(
        *command,
        "serve",
        "--port",
        str(port),
        "--storage",
        str(storage),
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), WAIT)
        url = line.decode().strip()
        assert url.startswith("http://127.0.0.1:"), f"no URL from tus serve: {line!r}"
        yield url, process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), WAIT)
            except TimeoutError:
                process.kill()
                await process.wait()


async def tus(
    *args: str, stdin: bytes | None = None, command: Sequence[str] = TUS, wait: float = WAIT
) -> tuple[int, str, str]:
    """Run one ``tus`` command (or another ``command`` line) to the end: exit code, stdout,
    stderr; a run longer than ``wait`` seconds fails the test."""
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), wait)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _until_quiet(proxy: FaultProxy, quiet: float = 0.5) -> None:
    """Wait until no byte has gone up through ``proxy`` for ``quiet`` seconds."""
    last = -1
    for _ in range(int(WAIT / quiet)):
        if proxy.bytes_up == last:
            return
        last = proxy.bytes_up
        await asyncio.sleep(quiet)
    raise AssertionError("the proxy never went quiet")


async def download(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def head_offset(url: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.head(url, headers={"Tus-Resumable": "1.0.0"}) as response,
    ):
        assert response.status in (200, 204), response.status
        return int(response.headers["Upload-Offset"])


def data_files(storage: Path) -> list[Path]:
    """The upload data files of a FileStore directory (one per upload, named by id)."""
    return [p for p in storage.iterdir() if p.is_file() and not p.suffix]


async def wait_until_stored(storage: Path, at_least: int) -> None:
    """Poll the store until some upload holds ``at_least`` bytes (bounded by ``WAIT``)."""
    for _ in range(int(WAIT / 0.02)):
        if any(p.stat().st_size >= at_least for p in data_files(storage)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no upload in {storage} reached {at_least} bytes")


async def test_serve_upload_metadata(tmp_path: Path) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    async with tus_serve(tmp_path / "uploads") as (endpoint, _):
        code, out, err = await tus(
            "upload",
            "--store",
            str(tmp_path / "s.json"),
            "-m",
            "owner=ünïcode",
            "-m",
            "flag",
            "--chunk-size",
            "1MiB",
            endpoint,
            str(source),
        )
        assert code == 0, err
        url = out.strip()
        assert url.startswith(endpoint)
        assert await download(url) == source.read_bytes()
        code, out, err = await tus("metadata", url)
        assert code == 0, err
        assert out.splitlines() == [
            "owner: ünïcode",
            "flag",
            "filename: report.pdf",
            "filetype: application/pdf",
            "mime_type: application/pdf",
        ]
        code, out, _ = await tus("metadata", "--json", url)
        document = json.loads(out)
        assert document["offset"] == document["length"] == source.stat().st_size


async def aiotus_cli(*args: str) -> tuple[int, str, str]:
    """Run aiotus's command line over tuskit (``python -m tuskit_cli.aiotus``) to the end."""
    return await tus(*args, command=(sys.executable, "-m", "tuskit_cli.aiotus"))


async def test_aiotus_command_line_and_tus_agree_on_metadata(tmp_path: Path) -> None:
    source = tmp_path / "job.py"
    source.write_bytes(b"print('hello')\n" * 1000)
    async with tus_serve(tmp_path / "uploads") as (endpoint, _):
        code, out, err = await aiotus_cli(
            "--debug", "upload", "--metadata", "k=v", endpoint, str(source)
        )
        assert code == 0, err
        url = out.strip()
        assert await download(url) == source.read_bytes()
        code, out, err = await tus("metadata", url)
        assert code == 0, err
        assert sorted(out.splitlines()) == ["filename: job.py", "k: v", "mime_type: text/x-python"]
        # and the other way round: what tus uploads, aiotus's metadata command reads
        code, out, err = await tus(
            "upload", "--store", str(tmp_path / "s.json"), endpoint, str(source)
        )
        assert code == 0, err
        code, shown, err = await aiotus_cli("metadata", out.strip())
        assert code == 0, err
        assert "mime_type: text/x-python" in shown.splitlines()
        code, _, err = await aiotus_cli("upload", endpoint, str(tmp_path / "missing.py"))
        assert code == 1
        assert "missing.py" in err


async def test_killed_upload_resumes_instead_of_restarting(tmp_path: Path) -> None:
    size = 6 * 1024 * 1024
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(size))
    storage = tmp_path / "uploads"
    async with (
        tus_serve(storage) as (endpoint, _),
        FaultProxy(endpoint, fault=Fault(bytes_per_second=2 * 1024 * 1024)) as proxy,
    ):
        args = (
            "upload",
            "--store",
            str(tmp_path / "s.json"),
            "--chunk-size",
            "1MiB",
            proxy.url,
            str(source),
        )
        first = await asyncio.create_subprocess_exec(
            *TUS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        await wait_until_stored(storage, 1024 * 1024)
        first.kill()  # SIGKILL: no chance to clean up
        await first.wait()
        # What the killed process had handed to its socket still reaches the proxy and goes
        # up (the kernel sends it after the process is gone); let that drain first, so
        # that only the rerun's bytes are counted below.
        await _until_quiet(proxy)
        [data] = data_files(storage)
        upload_url = endpoint + data.name
        kept = await head_offset(upload_url)
        assert 0 < kept < size
        sent_before = proxy.bytes_up

        code, out, err = await tus(*args)
        assert code == 0, err
        assert out.strip() == proxy.url + data.name  # the same upload, continued
        assert data_files(storage) == [data]
        assert proxy.bytes_up - sent_before < size - kept + 256 * 1024  # only the rest was sent
        stored = await download(upload_url)
        assert hashlib.sha256(stored).digest() == hashlib.sha256(source.read_bytes()).digest()


async def test_stdin_pipe_uploads_with_deferred_length(tmp_path: Path) -> None:
    data = os.urandom(700_000)
    async with tus_serve(tmp_path / "uploads") as (endpoint, _):
        code, out, err = await tus(
            "upload",
            "--store",
            str(tmp_path / "s.json"),
            "--chunk-size",
            "256KiB",
            endpoint,
            "-",
            stdin=data,
        )
        assert code == 0, err
        url = out.strip()
        assert await download(url) == data
        code, out, _ = await tus("metadata", "--json", url)
        assert json.loads(out)["length"] == len(data)


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_sigterm_keeps_the_bytes_of_an_interrupted_patch(
    tmp_path: Path, workers: str
) -> None:
    size = 4 * 1024 * 1024
    source = tmp_path / "slow.bin"
    source.write_bytes(os.urandom(size))
    storage = tmp_path / "uploads"
    port = free_port()  # the restarted server comes back behind the same proxy URL
    upstream = f"http://127.0.0.1:{port}/files/"
    async with FaultProxy(upstream, fault=Fault(bytes_per_second=1024 * 1024)) as proxy:
        args = ("upload", "--store", str(tmp_path / "s.json"), "--retries", "0")
        served = tus_serve(storage, "--shutdown-timeout", "5", "--workers", workers, port=port)
        async with served as (_, server):
            uploader = await asyncio.create_subprocess_exec(
                *TUS,
                *args,
                proxy.url,
                str(source),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            await wait_until_stored(storage, 512 * 1024)
            server.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(server.wait(), WAIT) == 0
            assert await asyncio.wait_for(uploader.wait(), WAIT) == 1  # no retries allowed
        [data] = data_files(storage)
        kept = data.stat().st_size
        assert 512 * 1024 <= kept < size
        async with tus_serve(storage, "--workers", workers, port=port) as (endpoint, _):
            assert await head_offset(endpoint + data.name) == kept  # survives the restart
            code, out, err = await tus(*args, proxy.url, str(source))
            assert code == 0, err
            assert out.strip() == proxy.url + data.name  # resumed, not restarted
            assert await download(endpoint + data.name) == source.read_bytes()


def children_of(pid: int) -> set[int]:
    """The live descendants of ``pid`` (a supervisor's workers)."""
    return set(process_tree(pid)[1:])


async def until_gone(pids: set[int]) -> None:
    """Wait until none of ``pids`` runs any more (bounded by ``WAIT``)."""
    for _ in range(int(WAIT / 0.05)):
        if not any(map(is_running, pids)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still running: {pids}")


async def test_workers_share_the_uploads_and_resume_across_connections(tmp_path: Path) -> None:
    sources = []
    for index in range(6):
        source = tmp_path / f"file{index}.bin"
        source.write_bytes(os.urandom(300_000 + index))
        sources.append(source)
    async with tus_serve(tmp_path / "uploads", "--workers", "2") as (endpoint, server):
        assert len(children_of(server.pid)) == 2
        async with aiohttp.ClientSession() as session:
            async with session.options(endpoint) as response:
                extensions = response.headers["Tus-Extension"].split(",")
            assert "concatenation" in extensions
            assert "concatenation-unfinished" not in extensions  # one process's knowledge
        results = await asyncio.gather(
            *(tus("upload", "--chunk-size", "64KiB", endpoint, str(s)) for s in sources)
        )
        for (code, out, err), source in zip(results, sources, strict=True):
            assert code == 0, err
            assert await download(out.strip()) == source.read_bytes()
        # every request on a new connection: each may land on either process
        body = os.urandom(200_000)
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            create = {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(body))}
            async with session.post(endpoint, headers=create) as response:
                assert response.status == 201
                url = response.headers["Location"]
            for start in range(0, len(body), 10_000):
                patch = {
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": str(start),
                    "Content-Type": "application/offset+octet-stream",
                }
                piece = body[start : start + 10_000]
                async with session.patch(url, headers=patch, data=piece) as response:
                    assert response.status == 204, await response.text()
        assert await download(url) == body


async def test_workers_stop_together(tmp_path: Path) -> None:
    async with tus_serve(tmp_path / "a", "--workers", "2") as (_, server):
        workers = children_of(server.pid)
        server.send_signal(signal.SIGINT)  # Ctrl-C reaches the supervisor, which passes it on
        assert await asyncio.wait_for(server.wait(), WAIT) == 0
        await until_gone(workers)
    async with tus_serve(tmp_path / "b", "--workers", "2") as (_, server):
        first, second = sorted(children_of(server.pid))
        os.kill(first, signal.SIGKILL)  # a worker that dies stops the server: exit 1
        assert await asyncio.wait_for(server.wait(), WAIT) == 1
        await until_gone({second})
        assert server.stderr is not None
        assert b"exited; stopping" in await server.stderr.read()
    async with tus_serve(tmp_path / "c", "--workers", "2") as (_, server):
        workers = children_of(server.pid)
        server.kill()  # a supervisor killed outright: its workers notice and stop
        await server.wait()
        await until_gone(workers)


async def test_workers_below_one_are_a_usage_error(tmp_path: Path) -> None:
    code, _, err = await tus("serve", "--storage", str(tmp_path), "--port", "0", "--workers", "0")
    assert code == 2
    assert "--workers" in err
