"""``tus serve --demo`` in headless Chromium: the page uploads a file, pauses in the middle,
resumes from the server's offset and shows the upload's URL; the stored bytes are the file's.

Where the pause lands is made certain with DevTools' ``Fetch`` domain: the test holds the
second PATCH in the browser, pauses while it is held, and lets requests through again to
resume.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import aiohttp
import pytest

from integration_tests.cdp import CdpError, Page, browse, chromium
from integration_tests.test_serve_operator import HEADERS, serving

CHUNK = 256 * 1024


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """Debian's chromium (installed now when missing and running as root)."""
    try:
        return chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))


async def click(page: Page, button: str) -> None:
    await page.evaluate(f"document.getElementById({button!r}).click()")


async def choose_file(page: Page, path: Path) -> None:
    # The input as a remote object of the live page: DOM node ids from DOM.getDocument go
    # stale when the document is replaced in between (seen once in a few runs).
    found = await page.send("Runtime.evaluate", expression="document.getElementById('file')")
    object_id = found["result"]["objectId"]
    await page.send("DOM.setFileInputFiles", files=[str(path)], objectId=object_id)


async def hold_second_patch(page: Page) -> str:
    """Let requests through until the second PATCH, which stays held; its request id."""
    patches = 0
    while True:
        paused = await page.event("Fetch.requestPaused")
        if paused["request"]["method"] == "PATCH":
            patches += 1
            if patches == 2:
                return str(paused["requestId"])
        await page.send("Fetch.continueRequest", requestId=paused["requestId"])


async def test_the_demo_page_uploads_pauses_and_resumes(
    chromium_binary: str, tmp_path: Path
) -> None:
    source = tmp_path / "photo.bin"
    data = os.urandom(5 * CHUNK + 12345)
    source.write_bytes(data)
    storage = tmp_path / "up"
    args = ["--port", "0", "--storage", str(storage), "--demo", "--no-access-log"]
    async with (
        serving(*args) as served,
        browse(chromium_binary, tmp_path / "profile") as page,
        aiohttp.ClientSession() as session,
    ):
        root = served.url.removesuffix("files/")
        await page.send("Page.navigate", url=root)
        await page.until("document.body && document.body.dataset.state === 'idle'")
        await page.evaluate(f"document.getElementById('chunk-kib').value = '{CHUNK // 1024}'")
        await page.send("Fetch.enable", patterns=[{"urlPattern": "*/files/*"}])
        await choose_file(page, source)
        await click(page, "start")

        held = await hold_second_patch(page)
        await click(page, "pause")
        await page.until("document.body.dataset.state === 'paused'")
        with contextlib.suppress(CdpError):  # the abort usually cancelled it already
            await page.send("Fetch.failRequest", requestId=held, errorReason="Aborted")
        await page.send("Fetch.disable")
        url = await page.until("document.getElementById('result').textContent")
        assert url.startswith(served.url)
        async with session.head(url, headers=HEADERS) as head:
            assert head.headers["Upload-Offset"] == str(CHUNK)  # one chunk, then the pause
        assert await page.evaluate("document.getElementById('progress').value") < 1

        await click(page, "resume")
        await page.until("document.body.dataset.state === 'done'")
        assert await page.evaluate("document.getElementById('progress').value") == 1
        assert await page.evaluate("document.getElementById('result').textContent") == url
        async with session.head(url, headers=HEADERS) as head:
            assert head.headers["Upload-Offset"] == str(len(data))
        async with session.get(url) as download:
            assert await download.read() == data
    upload_id = url.rsplit("/", 1)[1]
    assert (storage / upload_id).read_bytes() == data
