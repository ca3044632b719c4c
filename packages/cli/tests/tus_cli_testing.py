"""A real tuskit server in a background thread, for the synchronous CliRunner tests.

Typer commands run their own event loop (``asyncio.run``), so the server gets a loop of its
own in a thread (the httpx ``serve_in_thread`` pattern). Every request is recorded, and a
test can make the next N requests of a method fail with a status.
"""

import asyncio
import ssl
import threading
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tuskit_server import setup_tus

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    """One request the server saw: method, path and headers."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class ThreadServer:
    """Handle on the running server: its endpoint, what it saw, and fault injection."""

    endpoint: str
    requests: list[Recorded] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=dict)

    def fail_next(self, method: str, *statuses: int) -> None:
        """Answer the next requests of ``method`` with these statuses, in order."""
        self.failures.setdefault(method, []).extend(statuses)

    def seen(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    def download(self, url: str) -> bytes:
        """GET the finished upload's bytes (the server's download extension)."""
        with urllib.request.urlopen(url, timeout=10) as response:
            data: bytes = response.read()
        return data


@contextmanager
def serve_in_thread(
    upload_path: Path,
    *,
    ssl_context: ssl.SSLContext | None = None,
    **setup_kwargs: Any,
) -> Iterator[ThreadServer]:
    """Run ``setup_tus(upload_path=...)`` on a free loopback port until the block ends.
    Uploads keep their ids (``file_names="id"``, as behind ``tus serve``), so one file may
    be uploaded again without its name being taken."""
    setup_kwargs.setdefault("file_names", "id")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        server: ThreadServer = holder["server"]
        server.requests.append(Recorded(request.method, request.path, dict(request.headers)))
        pending = server.failures.get(request.method)
        if pending:
            status = pending.pop(0)
            await request.read()
            return web.Response(status=status, headers={"Retry-After": "0"})
        return await handler(request)

    async def start() -> web.AppRunner:
        app = web.Application(middlewares=[record])
        setup_tus(app, upload_path=upload_path, upload_url="/files", **setup_kwargs)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(start())
        port = runner.addresses[0][1]
        scheme = "https" if ssl_context else "http"
        holder["runner"] = runner
        holder["server"] = ThreadServer(f"{scheme}://127.0.0.1:{port}/files/")
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the test server did not start")
    try:
        yield holder["server"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
