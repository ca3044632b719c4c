"""Drive headless Chromium over the Chrome DevTools Protocol, with nothing but aiohttp.

:func:`chromium` finds Debian's ``chromium`` (installing it with apt-get when missing and
running as root, else failing with what is missing); :func:`browse` starts it on a free
loopback debugging port and yields a :class:`Page` to send commands to and read events from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from integration_tests.harness import LOOPBACK

WAIT = 60.0
_INSTALL = ("apt-get", "install", "-y", "--no-install-recommends", "chromium")


class CdpError(RuntimeError):
    """A DevTools command failed; the message is Chromium's."""


def chromium() -> str:
    """The path of Debian's ``chromium``, installed with apt-get first if it is missing.

    Raises:
        RuntimeError: it is missing and cannot be installed here (the message says why).
    """
    found = shutil.which("chromium")
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            "these tests need headless Chromium: install Debian's chromium package "
            "(apt-get install chromium) or run them as root, which installs it"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(_INSTALL, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:  # a fresh image has no package lists yet
        subprocess.run(("apt-get", "update"), capture_output=True, env=env, check=False)
        done = subprocess.run(_INSTALL, capture_output=True, text=True, env=env, check=False)
    found = shutil.which("chromium")
    if found is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"apt-get install chromium failed: {last}")
    return found


class Page:
    """One page target: :meth:`send` a command, :meth:`event` waits for the next event of
    a method (events are kept per method until read)."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._next_id = 0
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: defaultdict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                answer = self._answers.pop(data["id"], None)
                if answer is not None and not answer.done():
                    answer.set_result(data)
            else:
                self._events[data["method"]].put_nowait(data.get("params", {}))
        for answer in self._answers.values():
            answer.set_exception(CdpError("the browser closed the connection"))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result.

        Raises:
            CdpError: Chromium answered with an error.
        """
        self._next_id += 1
        answer = asyncio.get_running_loop().create_future()
        self._answers[self._next_id] = answer
        await self._socket.send_json({"id": self._next_id, "method": method, "params": params})
        data = await asyncio.wait_for(answer, WAIT)
        if "error" in data:
            raise CdpError(f"{method}: {data['error'].get('message')}")
        result: dict[str, Any] = data.get("result", {})
        return result

    async def event(self, method: str) -> dict[str, Any]:
        """The next event ``method``'s parameters (bounded by ``WAIT``)."""
        return await asyncio.wait_for(self._events[method].get(), WAIT)

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page.

        Raises:
            CdpError: the expression threw.
        """
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def until(self, expression: str) -> Any:
        """Poll ``expression`` until it is truthy (bounded by ``WAIT``); its value."""
        for _ in range(int(WAIT / 0.05)):
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"{expression} stayed false; page says {await self.status()!r}")

    async def status(self) -> str:
        return str(await self.evaluate("document.getElementById('status')?.textContent"))

    async def close(self) -> None:
        await self._socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def _debugging_port(profile: Path, process: asyncio.subprocess.Process) -> int:
    """The port Chromium chose (it writes it to ``DevToolsActivePort`` in its profile)."""
    marker = profile / "DevToolsActivePort"
    for _ in range(int(WAIT / 0.05)):
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError("Chromium did not open its debugging port")


@contextlib.asynccontextmanager
async def browse(binary: str, profile: Path) -> AsyncIterator[Page]:
    """Headless Chromium on a free loopback debugging port, with its first page."""
    process = await asyncio.create_subprocess_exec(
        binary,
        "--headless=new",
        "--no-sandbox",  # tests run as root in containers
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        f"--remote-debugging-address={LOOPBACK}",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port = await _debugging_port(profile, process)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{LOOPBACK}:{port}/json/list") as listed:
                targets = await listed.json()
            page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            socket = await session.ws_connect(page_url, max_msg_size=0)
            page = Page(socket)
            try:
                yield page
            finally:
                await page.close()
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), WAIT)
        except TimeoutError:
            process.kill()
            await process.wait()
