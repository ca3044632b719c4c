"""The crash loop beyond one PATCH (issue 21): creation (with and without data), appending,
concatenation and termination run at random against ``python -m tuskit_server`` while it is
killed with SIGKILL at random moments and started again, :data:`KILLS` times. Afterwards
every upload the server acknowledged is checked:

- a terminated one (204) answers 410; one whose DELETE got no answer is either there or 410;
- every other one is there, holds at least every byte acknowledged with a 204 (bytes lost
  must be 0), resumes from its offset and ends byte-identical to its source;
- a final upload is the concatenation of its partials.

The figures (kills, requests, uploads, bytes lost) are printed at the end.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from integration_tests.harness import HttpProbe, StartServer, free_port

KILLS = int(os.environ.get("TUSKIT_CRASH_KILLS", "20"))
HEADERS = {"Tus-Resumable": "1.0.0"}
OCTET = "application/offset+octet-stream"
TIMEOUT = aiohttp.ClientTimeout(total=5)
_NO_ANSWER = (aiohttp.ClientError, TimeoutError, ConnectionError)


@dataclass
class Upload:
    url: str
    source: bytes
    partial: bool = False
    acknowledged: int = 0  # the offset of the last 204 (or of the 201 with data)
    terminated: bool = False  # a DELETE was answered 204
    maybe_terminated: bool = False  # a DELETE got no answer
    parts: tuple[str, ...] = ()  # for a final upload: its partials' URLs

    @property
    def complete(self) -> bool:
        return self.acknowledged == len(self.source)


@dataclass
class Stats:
    requests: int = 0
    unanswered: int = 0


class Workload:
    def __init__(self, endpoint: str, rng: random.Random) -> None:
        self.endpoint = endpoint
        self.rng = rng
        self.uploads: list[Upload] = []
        self.stats = Stats()

    async def _send(
        self, session: aiohttp.ClientSession, method: str, url: str, **kwargs: object
    ) -> tuple[int, dict[str, str]] | None:
        self.stats.requests += 1
        try:
            async with session.request(method, url, timeout=TIMEOUT, **kwargs) as response:  # type: ignore[arg-type]
                await response.read()
                return response.status, dict(response.headers)
        except _NO_ANSWER:
            self.stats.unanswered += 1
            await asyncio.sleep(0.02)  # the server may be down: do not spin
            return None

    async def create(self, session: aiohttp.ClientSession) -> None:
        source = os.urandom(self.rng.randint(1, 300_000))
        partial = self.rng.random() < 0.4
        headers = {**HEADERS, "Upload-Length": str(len(source))}
        if partial:
            headers["Upload-Concat"] = "partial"
        first = b""
        if self.rng.random() < 0.5:
            first = source[: self.rng.randint(0, len(source))]
            headers["Content-Type"] = OCTET
        answer = await self._send(session, "POST", self.endpoint, headers=headers, data=first)
        if answer is None or answer[0] != 201:
            return
        upload = Upload(answer[1]["Location"], source, partial=partial)
        if "Upload-Offset" in answer[1]:
            upload.acknowledged = int(answer[1]["Upload-Offset"])
        self.uploads.append(upload)

    async def append(self, session: aiohttp.ClientSession) -> None:
        open_ = [u for u in self.uploads if not u.complete and not u.parts and not _gone(u)]
        if not open_:
            return
        upload = self.rng.choice(open_)
        head = await self._send(session, "HEAD", upload.url, headers=HEADERS)
        if head is None or head[0] != 200:
            return
        offset = int(head[1]["Upload-Offset"])
        piece = upload.source[offset : offset + self.rng.randint(1, 120_000)]
        headers = {**HEADERS, "Upload-Offset": str(offset), "Content-Type": OCTET}
        answer = await self._send(session, "PATCH", upload.url, headers=headers, data=piece)
        if answer is not None and answer[0] == 204:
            upload.acknowledged = max(upload.acknowledged, int(answer[1]["Upload-Offset"]))

    async def concatenate(self, session: aiohttp.ClientSession) -> None:
        done = [u for u in self.uploads if u.partial and u.complete and not _gone(u)]
        if len(done) < 2:
            return
        parts = self.rng.sample(done, min(len(done), self.rng.randint(2, 4)))
        paths = " ".join(URL(p.url).path for p in parts)
        headers = {**HEADERS, "Upload-Concat": f"final;{paths}"}
        answer = await self._send(session, "POST", self.endpoint, headers=headers)
        if answer is None or answer[0] != 201:
            return
        source = b"".join(p.source for p in parts)
        final = Upload(answer[1]["Location"], source, parts=tuple(p.url for p in parts))
        final.acknowledged = len(source)
        self.uploads.append(final)

    async def terminate(self, session: aiohttp.ClientSession) -> None:
        alive = [u for u in self.uploads if not _gone(u)]
        if not alive:
            return
        upload = self.rng.choice(alive)
        answer = await self._send(session, "DELETE", upload.url, headers=HEADERS)
        if answer is None:
            upload.maybe_terminated = True
        elif answer[0] == 204:
            upload.terminated = True

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                step = self.rng.choices(
                    [self.create, self.append, self.concatenate, self.terminate],
                    weights=[3, 6, 1, 1],
                )[0]
                await step(session)
                await asyncio.sleep(0)


def _gone(upload: Upload) -> bool:
    return upload.terminated or upload.maybe_terminated


async def _check(session: aiohttp.ClientSession, upload: Upload) -> int:
    """Verify one upload after the loop; returns the acknowledged bytes it lost."""
    async with session.head(upload.url, headers=HEADERS) as response:
        status = response.status
        offset = int(response.headers.get("Upload-Offset", "0"))
    if upload.terminated:
        assert status == 410, (upload.url, status)
        return 0
    if upload.maybe_terminated and status == 410:
        return 0
    assert status == 200, (upload.url, status)
    lost = max(0, upload.acknowledged - offset)
    if offset < len(upload.source):
        headers = {**HEADERS, "Upload-Offset": str(offset), "Content-Type": OCTET}
        async with session.patch(
            upload.url, headers=headers, data=upload.source[offset:]
        ) as response:
            assert response.status == 204, (upload.url, response.status, await response.text())
    async with session.get(upload.url) as response:
        assert response.status == 200, (upload.url, response.status)
        assert await response.read() == upload.source, upload.url
    return lost


async def test_crash_loop_over_creation_concatenation_and_termination(
    start_server: StartServer, tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    port = free_port()
    url = f"http://127.0.0.1:{port}/uploads"
    argv = [sys.executable, "-m", "tuskit_server", "--storage", str(tmp_path / "store")]
    argv += ["--base-path", "/uploads", "--no-access-log"]
    running = start_server([*argv, "--port", str(port)], ready=HttpProbe(url))
    workload = Workload(url, rng)
    stop = asyncio.Event()
    worker = asyncio.create_task(workload.run(stop))
    try:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 0.8))
            running.server.kill()
            await asyncio.sleep(rng.uniform(0, 0.1))
            await asyncio.to_thread(running.restart)
    finally:
        stop.set()
        await worker
    lost = 0
    async with aiohttp.ClientSession() as session:
        for upload in workload.uploads:
            lost += await _check(session, upload)
    finals = sum(1 for u in workload.uploads if u.parts)
    terminated = sum(1 for u in workload.uploads if u.terminated)
    print(
        f"\ncrash loop (seed {seed}): {KILLS} kills, {workload.stats.requests} requests "
        f"({workload.stats.unanswered} unanswered), {len(workload.uploads)} uploads "
        f"({finals} finals, {terminated} terminated), acknowledged bytes lost: {lost}"
    )
    assert lost == 0
    assert len(workload.uploads) >= KILLS  # the workload really ran between the kills
