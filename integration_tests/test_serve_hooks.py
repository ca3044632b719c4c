"""``tus serve`` with tusd-style hooks, end to end: a real server process POSTs its events to
a receiver in this test (an aiohttp app on a loopback port) or runs hook scripts the test
writes; the answers reject, rename or let uploads through, and failures are logged and
counted."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from integration_tests.harness import LOOPBACK, free_port
from integration_tests.test_serve_operator import HEADERS, WAIT, serving


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Receiver:
    """tusd's hook receiver contract: reject uploads without an ``owner``, name the others
    after it, record every event."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[dict[str, Any]] = []
        self.arrived = asyncio.Condition()

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        async with self.arrived:
            self.seen.append(body)
            self.arrived.notify_all()
        if body["Type"] != "pre-create":
            return web.json_response({})
        owner = body["Event"]["Upload"]["MetaData"].get("owner")
        if owner is None:
            reject = {"StatusCode": 403, "Body": "an owner is required"}
            return web.json_response({"RejectUpload": True, "HTTPResponse": reject})
        return web.json_response({"ChangeFileInfo": {"ID": f"of-{owner}"}})

    async def wait_for(self, event: str) -> dict[str, Any]:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: any(b["Type"] == event for b in self.seen)), WAIT
            )
        return next(b for b in self.seen if b["Type"] == event)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/tusd-hooks", found.hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    port = runner.addresses[0][1]
    found.url = f"http://{LOOPBACK}:{port}/tusd-hooks"
    yield found
    await runner.cleanup()


async def upload(
    session: aiohttp.ClientSession, endpoint: str, data: bytes, metadata: str | None
) -> aiohttp.ClientResponse | str:
    """Create and send ``data``; the upload's URL, or the refused creation's response."""
    headers = {**HEADERS, "Upload-Length": str(len(data))}
    if metadata is not None:
        headers["Upload-Metadata"] = metadata
    async with session.post(endpoint, headers=headers) as created:
        await created.read()
        if created.status != 201:
            return created
        url = created.headers["Location"]
    patch = {**HEADERS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    async with session.patch(url, headers=patch, data=data) as sent:
        assert sent.status == 204, await sent.text()
    return url


async def test_serve_posts_every_event_to_a_receiver(receiver: Receiver, tmp_path: Path) -> None:
    args = ["--port", "0", "--storage", str(tmp_path / "up"), "--hooks-http", receiver.url]
    args += ["--hooks-http-retry", "0"]
    async with serving(*args) as served, aiohttp.ClientSession() as session:
        refused = await upload(session, served.url, b"nope", None)
        assert isinstance(refused, aiohttp.ClientResponse)
        assert refused.status == 403
        assert await refused.text() == "an owner is required\n"
        url = await upload(session, served.url, b"hello hooks", f"owner {b64('ann')}")
        assert url == served.url + "of-ann"
        finished = await receiver.wait_for("post-finish")
        async with session.get(url) as stored:
            assert await stored.read() == b"hello hooks"
    assert finished["Event"]["Upload"]["ID"] == "of-ann"
    assert finished["Event"]["Upload"]["Offset"] == 11
    assert finished["Event"]["HTTPRequest"]["Method"] == "PATCH"
    created = [b for b in receiver.seen if b["Type"] == "pre-create"]
    assert [c["Event"]["Upload"]["MetaData"] for c in created] == [{}, {"owner": "ann"}]
    assert {b["Type"] for b in receiver.seen} >= {"pre-create", "post-create", "pre-finish"}


async def test_serve_with_an_unreachable_receiver_answers_500_in_one_line(
    tmp_path: Path,
) -> None:
    with_nobody = f"http://{LOOPBACK}:{free_port()}/tusd-hooks"  # nothing listens there
    args = ["--port", "0", "--storage", str(tmp_path / "up"), "--hooks-http", with_nobody]
    args += ["--hooks-http-retry", "1", "--hooks-http-backoff", "0"]
    async with serving(*args) as served, aiohttp.ClientSession() as session:
        refused = await upload(session, served.url, b"x", None)
        assert isinstance(refused, aiohttp.ClientResponse)
        assert refused.status == 500
        assert await refused.text() == "the pre_create hook failed\n"
        async with session.get(served.url.replace("/files/", "/metrics")) as metrics:
            assert 'tuskit_hook_errors_total{hooktype="pre_create"} 1.0' in await metrics.text()
    failures = [line for line in served.stderr.splitlines() if "pre-create hook failed" in line]
    assert len(failures) == 1
    assert "tried 2 times" in failures[0]
    assert "Traceback" not in served.stderr


GATE = """#!/usr/bin/env python3
import json, sys
event = json.load(sys.stdin)
if "filename" not in event["Event"]["Upload"]["MetaData"]:
    print(json.dumps({"RejectUpload": True,
                      "HTTPResponse": {"StatusCode": 422, "Body": "name the file"}}))
"""
RECORD = """#!/bin/sh
cat > "$TUS_ID.event.json"
"""
BROKEN = """#!/bin/sh
echo "post-create script: the queue is down" >&2
exit 1
"""


def install(directory: Path, event: str, text: str) -> None:
    path = directory / event
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


async def test_serve_runs_hook_scripts(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    install(hooks, "pre-create", GATE.replace("/usr/bin/env python3", sys.executable))
    install(hooks, "post-finish", RECORD)
    install(hooks, "post-create", BROKEN)
    args = ["--port", "0", "--storage", str(tmp_path / "up"), "--hooks-dir", str(hooks)]
    async with serving(*args) as served, aiohttp.ClientSession() as session:
        refused = await upload(session, served.url, b"abc", None)
        assert isinstance(refused, aiohttp.ClientResponse)
        assert refused.status == 422
        assert await refused.text() == "name the file\n"
        url = await upload(session, served.url, b"abc", f"filename {b64('a.txt')}")
        assert isinstance(url, str)
        upload_id = url.rsplit("/", 1)[1]
        record = hooks / f"{upload_id}.event.json"  # scripts run in the hook directory
        await wait_until(record.exists)
        async with session.get(served.url.replace("/files/", "/metrics")) as metrics:
            text = await metrics.text()
    event = json.loads(record.read_text())
    assert event["Type"] == "post-finish"
    assert event["Event"]["Upload"]["MetaData"] == {"filename": "a.txt"}
    assert event["Event"]["Upload"]["Offset"] == 3
    assert 'tuskit_hook_errors_total{hooktype="post_create"} 1.0' in text
    assert "post-create script: the queue is down" in served.stderr
    assert "post-create hook failed for upload " + upload_id in served.stderr


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll until ``condition()`` holds (a background hook's effect; bounded by ``WAIT``)."""
    for _ in range(int(WAIT / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{condition} never held")
