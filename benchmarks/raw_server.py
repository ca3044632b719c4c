"""The raw limit: a plain aiohttp handler that streams a PUT body into a file (no tus).

    python -m benchmarks.raw_server --dir DIR

Binds ``127.0.0.1:0``, prints one JSON line ``{"url": ...}`` (the readiness line of
:class:`integration_tests.harness.UrlLine`) and serves until SIGTERM. ``PUT /raw/<name>``
writes the body to ``DIR/<name>`` with large reads and one worker-thread write per read, so
the figure is what aiohttp plus a file can do on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
from pathlib import Path

from aiohttp import web

LOOPBACK = "127.0.0.1"
READ_SIZE = 4 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DIR_KEY = web.AppKey("dir", Path)


async def put(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not _NAME.fullmatch(name) or name.startswith("."):
        raise web.HTTPNotFound()
    target = request.app[DIR_KEY] / name
    handle = await asyncio.to_thread(target.open, "wb")
    received = 0
    try:
        while piece := await request.content.read(READ_SIZE):
            received += len(piece)
            await asyncio.to_thread(handle.write, piece)
    finally:
        await asyncio.to_thread(handle.close)
    return web.json_response({"received": received}, status=201)


async def serve(directory: Path) -> None:
    app = web.Application()
    app[DIR_KEY] = directory
    app.router.add_put("/raw/{name}", put)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(128)
    sock.setblocking(False)
    await web.SockSite(runner, sock).start()
    print(json.dumps({"url": f"http://{LOOPBACK}:{sock.getsockname()[1]}/raw"}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.dir))


if __name__ == "__main__":
    main()
