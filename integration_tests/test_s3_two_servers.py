"""Two tus servers on one bucket (each an S3Store on moto): any request of an upload may go
to either. Requests here never overlap in time, since the servers share no locker yet (the
Redis locker is another branch); what is shared is the bucket: offsets, tails, finished
objects, concatenation-unfinished, and a server killed mid-body."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from integration_tests.harness import HttpProbe, RunningServer, free_port, running_server
from integration_tests.s3 import (
    CREDENTIALS,
    MotoS3,
    moto_s3_server,
    paced_past_a_part,
    tus_on_s3_argv,
)

MIB = 1024 * 1024
V = {"Tus-Resumable": "1.0.0"}
OCTETS = {**V, "Content-Type": "application/offset+octet-stream"}


@dataclass(frozen=True, slots=True)
class Pair:
    moto: MotoS3
    bucket: str
    a: RunningServer
    b: RunningServer


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with moto_s3_server(tmp_path / "moto") as moto, contextlib.ExitStack() as stack:
        bucket = moto.new_bucket()
        servers = []
        for name in ("a", "b"):
            port = free_port()
            url = f"http://127.0.0.1:{port}/uploads"
            argv = tus_on_s3_argv(port, moto.url, bucket)
            env = {**os.environ, **CREDENTIALS}
            started = running_server(argv, ready=HttpProbe(url), log_dir=tmp_path / name, env=env)
            servers.append(stack.enter_context(started))
        yield Pair(moto, bucket, servers[0], servers[1])


def on(server: RunningServer, location: str) -> str:
    """The upload ``location`` (made by either server) at ``server``."""
    return server.url + "/" + location.rsplit("/", 1)[1]


async def test_chunks_alternate_between_the_servers(pair: Pair) -> None:
    data = os.urandom(13 * MIB)
    servers = [pair.a, pair.b]
    async with aiohttp.ClientSession() as session:
        created = await session.post(pair.a.url, headers={**V, "Upload-Length": str(len(data))})
        location = created.headers["Location"]
        offset, turn = 0, 0
        while offset < len(data):
            server = servers[turn % 2]
            head = await session.head(on(server, location), headers=V)
            assert int(head.headers["Upload-Offset"]) == offset
            chunk = data[offset : offset + 3 * MIB]
            patched = await session.patch(
                on(servers[(turn + 1) % 2], location),
                headers={**OCTETS, "Upload-Offset": str(offset)},
                data=io.BytesIO(chunk),
            )
            assert patched.status == 204, await patched.text()
            offset += len(chunk)
            turn += 1
        for server in servers:
            got = await session.get(on(server, location))
            assert await got.read() == data


async def test_a_partial_finished_on_b_builds_the_final_created_on_a(pair: Pair) -> None:
    async with aiohttp.ClientSession() as session:
        partials = []
        for server in (pair.a, pair.b):
            made = await session.post(
                server.url, headers={**V, "Upload-Length": "3", "Upload-Concat": "partial"}
            )
            partials.append(made.headers["Location"])
        await session.patch(
            on(pair.a, partials[0]), headers={**OCTETS, "Upload-Offset": "0"}, data=b"abc"
        )
        concat = "final;" + " ".join(partials)
        final = await session.post(pair.a.url, headers={**V, "Upload-Concat": concat})
        assert final.status == 201
        finished = await session.patch(
            on(pair.b, partials[1]), headers={**OCTETS, "Upload-Offset": "0"}, data=b"def"
        )
        assert finished.status == 204
        got = await session.get(on(pair.a, final.headers["Location"]))
        assert (got.status, await got.read()) == (200, b"abcdef")


async def test_a_server_killed_mid_body_and_the_upload_resumed_on_the_other(pair: Pair) -> None:
    data = os.urandom(12 * MIB)
    async with aiohttp.ClientSession() as session:
        created = await session.post(pair.a.url, headers={**V, "Upload-Length": str(len(data))})
        location = created.headers["Location"]
        gate = asyncio.Event()

        async def kill_when_a_part_landed() -> None:
            await pair.moto.wait_for_part(pair.bucket)
            await asyncio.to_thread(pair.a.server.kill)
            gate.set()

        killing = asyncio.ensure_future(kill_when_a_part_landed())
        with pytest.raises(aiohttp.ClientError):
            await session.patch(
                on(pair.a, location),
                headers={**OCTETS, "Upload-Offset": "0"},
                data=paced_past_a_part(data, gate),
            )
        await killing
        head = await session.head(on(pair.b, location), headers=V)
        offset = int(head.headers["Upload-Offset"])
        assert offset == 5 * MIB  # the part S3 committed before the crash
        resumed = await session.patch(
            on(pair.b, location),
            headers={**OCTETS, "Upload-Offset": str(offset)},
            data=io.BytesIO(data[offset:]),
        )
        assert resumed.status == 204, await resumed.text()
        got = await session.get(on(pair.b, location))
        assert await got.read() == data
