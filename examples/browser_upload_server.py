"""A page to upload files from the browser, and the tus server it uploads to.

    python examples/browser_upload_server.py --port 8080 --storage uploads

Open http://127.0.0.1:8080/ and choose a file: ``browser/index.html`` holds a tus client of
about forty lines (POST, then PATCH chunks from the server's offset, HEAD to resume). The
page and the uploads share one origin, so no CORS is needed; a page on another origin would
need ``setup_tus(..., cors=Cors(origins=[...]))``. The creation URL is printed once the
server accepts connections; SIGINT or SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from aiohttp import web

from tuskit_server import setup_tus

PAGE = Path(__file__).parent / "browser" / "index.html"


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE, headers={"Content-Type": "text/html; charset=utf-8"})


def make_app(storage: Path) -> web.Application:
    app = web.Application()
    app.router.add_get("/", page)
    setup_tus(app, upload_path=storage, upload_url="/files", max_size=1 << 30)
    return app


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--storage", type=Path, default=Path("uploads"))
    args = parser.parse_args()
    runner = web.AppRunner(make_app(args.storage))
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}/files/", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
