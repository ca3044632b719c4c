"""``tus upload --protocol ietf-draft`` against ``tus serve --ietf-draft``, both real processes:
an upload killed part-way resumes in the next run instead of starting over."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.test_cli_e2e import TUS, data_files, tus, tus_serve, wait_until_stored

MiB = 1024 * 1024


async def test_a_killed_draft_upload_resumes_in_the_next_run(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(6 * MiB))
    storage = tmp_path / "uploads"
    async with (
        tus_serve(storage, "--ietf-draft") as (endpoint, _),
        FaultProxy(endpoint, fault=Fault(bytes_per_second=2 * MiB)) as proxy,
    ):
        args = ["upload", "--protocol", "ietf-draft", "--store", str(tmp_path / "s.json")]
        args += ["--chunk-size", "1MiB", proxy.url, str(source)]
        first = await asyncio.create_subprocess_exec(
            *TUS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        await wait_until_stored(storage, MiB)
        first.kill()  # SIGKILL: no chance to clean up
        await first.wait()
        [data] = data_files(storage)

        code, out, err = await tus(*args)
        assert code == 0, err
        assert out.strip() == proxy.url + data.name  # the same upload, continued
        assert data_files(storage) == [data]
        digest = hashlib.sha256(data.read_bytes()).digest()
        assert digest == hashlib.sha256(source.read_bytes()).digest()


async def test_a_server_without_the_draft_is_one_line_and_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 1000)
    async with tus_serve(tmp_path / "uploads") as (endpoint, _):
        code, out, err = await tus(
            "upload", "--protocol", "ietf-draft", "--no-resume", endpoint, str(source)
        )
    assert (code, out) == (1, "")
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: {source}: POST {endpoint}: the server does not speak the IETF")
