"""S3 failing under a tus server on S3Store (a fault proxy between the server and moto): the
PATCH fails with 5xx, HEAD then tells exactly what S3 holds, and the client resumes from
there to an object identical to the source."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from pathlib import Path

import aiohttp
import pytest

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.harness import HttpProbe, free_port, running_server
from integration_tests.s3 import CREDENTIALS, moto_s3_server, paced_past_a_part, tus_on_s3_argv

MIB = 1024 * 1024
PART = 5 * MIB
V = {"Tus-Resumable": "1.0.0"}
OCTETS = {**V, "Content-Type": "application/offset+octet-stream"}


@pytest.mark.parametrize(
    "fault",
    [Fault(answer_status=503), Fault(answer_status=500), Fault(reset_downstream_after=0)],
    ids=["503", "500", "reset"],
)
async def test_s3_failing_mid_patch_then_resume(tmp_path: Path, fault: Fault) -> None:
    data = os.urandom(12 * MIB)
    with moto_s3_server(tmp_path / "moto") as moto:
        bucket = moto.new_bucket()
        async with FaultProxy(moto.url) as proxy, contextlib.AsyncExitStack() as stack:
            port = free_port()
            url = f"http://127.0.0.1:{port}/uploads"
            argv = tus_on_s3_argv(port, proxy.url, bucket, "--attempts", "2")
            started = running_server(
                argv, ready=HttpProbe(url), log_dir=tmp_path, env={**os.environ, **CREDENTIALS}
            )
            # the server reaches S3 through the proxy, which runs on this loop: start it
            # (and stop it) from a thread
            await asyncio.to_thread(started.__enter__)
            stack.push_async_callback(asyncio.to_thread, started.__exit__, None, None, None)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            created = await session.post(url, headers={**V, "Upload-Length": str(len(data))})
            assert created.status == 201
            upload = created.headers["Location"]

            gate = asyncio.Event()

            async def broken_when_a_part_landed() -> None:
                await moto.wait_for_part(bucket)
                proxy.break_all(fault)
                gate.set()

            breaking = asyncio.ensure_future(broken_when_a_part_landed())
            failed = await session.patch(
                upload, headers={**OCTETS, "Upload-Offset": "0"}, data=paced_past_a_part(data, gate)
            )
            await breaking
            assert failed.status in {500, 503}, await failed.text()
            assert "\n" not in (await failed.text()).strip()
            proxy.break_all(None)

            head = await session.head(upload, headers=V)
            offset = int(head.headers["Upload-Offset"])
            if fault.answer_status is not None:
                assert offset == PART  # the part S3 committed; the tail never reached it
            else:  # a reset may come after S3 stored the tail: then it counts
                assert offset in {PART, 7 * MIB}
            resumed = await session.patch(
                upload,
                headers={**OCTETS, "Upload-Offset": str(offset)},
                data=io.BytesIO(data[offset:]),
            )
            assert resumed.status == 204, await resumed.text()
            assert resumed.headers["Upload-Offset"] == str(len(data))
            downloaded = await session.get(upload)
            assert await downloaded.read() == data
