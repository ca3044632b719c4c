"""``tus serve --locker redis://...`` as an operator runs it: two servers (each with two
workers) on one storage folder share their upload locks through one real redis-server, so a
HEAD on one interrupts a stale PATCH on the other; a bad URL exits 2 and an unreachable Redis
exits 1, both in one line and before the port opens.

redis-server is Debian's, started on a free loopback port (installed first when missing, see
:mod:`integration_tests.redis_server`); every server binds port 0 and is stopped after.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from integration_tests.harness import LOOPBACK, free_port
from integration_tests.redis_server import RedisServer
from integration_tests.test_serve_operator import HEADERS, one_error_line, run, serving
from integration_tests.tus_requests import interrupted_by_a_head


async def _stalled(first: bytes, gate: asyncio.Event) -> AsyncIterator[bytes]:
    yield first
    await gate.wait()
    yield b"never-read"


async def test_a_head_on_one_server_interrupts_a_stale_patch_on_the_other(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    storage = tmp_path / "shared"
    common = ["--storage", str(storage), "--port", "0", "--workers", "2"]
    common += ["--locker", redis_server.url, "--no-access-log"]
    async with (
        serving(*common) as first,
        serving(*common) as second,
        aiohttp.ClientSession() as session,
    ):
        created = await session.post(first.url, headers={**HEADERS, "Upload-Length": "100"})
        assert created.status == 201
        upload = created.headers["Location"].rsplit("/", 1)[1]
        on_first, on_second = f"{first.url}{upload}", f"{second.url}{upload}"
        gate = asyncio.Event()
        patching = {
            **HEADERS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        }
        body = _stalled(b"a" * 10, gate)
        interrupted = await interrupted_by_a_head(
            session, on_first, on_second, patching, body, HEADERS
        )
        assert "interrupted" in await interrupted.text()
        gate.set()
        resumed = await session.patch(
            on_second, headers={**patching, "Upload-Offset": "10"}, data=b"b" * 90
        )
        assert resumed.status == 204
        assert resumed.headers["Upload-Offset"] == "100"
    assert (storage / upload).read_bytes() == b"a" * 10 + b"b" * 90
    assert not (storage / ".tuskit.locks").exists()  # the workers used Redis, not a lock file


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--locker", "http://cache:6379"], {}, "error: --locker: 'http://cache:6379' is not a"),
        ([], {"TUSKIT_LOCKER": "redis://cache:port"}, "error: TUSKIT_LOCKER: 'redis://cache:port'"),
    ],
)
async def test_a_bad_locker_url_exits_2(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    code, out, err = await run("serve", "--storage", str(tmp_path), "--port", "0", *args, env=env)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith(expected)
    assert "is not a Redis URL" in line


async def test_an_unreachable_redis_exits_1_before_the_port_opens(tmp_path: Path) -> None:
    url = f"redis://{LOOPBACK}:{free_port()}/0"  # nothing listens there
    port = str(free_port())
    code, out, err = await run("serve", "--storage", str(tmp_path), "--port", port, "--locker", url)
    assert (code, out) == (1, "")  # no URL: it never served
    assert one_error_line(err).startswith(f"error: --locker {url}: Redis cannot be reached: ")
