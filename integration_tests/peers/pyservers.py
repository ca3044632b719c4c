"""Run one Python peer server on a free loopback port, as a subprocess of the interop tests.

    python -m integration_tests.peers.pyservers aiohttp-tus --dir DIR [--client-max-size N]
    python -m integration_tests.peers.pyservers tuspyserver --dir DIR

The server binds ``127.0.0.1:0`` itself, then prints one JSON line ``{"url": <creation URL>}``
(the readiness line :class:`integration_tests.harness.UrlLine` waits for) and serves until
SIGTERM. The peers are imported with :mod:`importlib` because they are installed only in the
``interop`` nox session, not in the typecheck environment.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import signal
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"
#: aiohttp's own default request body cap; aiohttp-tus reads each PATCH body whole under it.
AIOHTTP_DEFAULT_MAX_SIZE = 1024**2


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _announce(sock: socket.socket, path: str) -> None:
    port = sock.getsockname()[1]
    print(json.dumps({"url": f"http://{LOOPBACK}:{port}{path}"}), flush=True)


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def serve_aiohttp_tus(directory: Path, client_max_size: int) -> None:
    """aiohttp-tus ``setup_tus`` on a plain ``web.Application`` at ``/uploads``."""
    web = importlib.import_module("aiohttp.web")
    aiohttp_tus = importlib.import_module("aiohttp_tus")
    app = web.Application(client_max_size=client_max_size)
    aiohttp_tus.setup_tus(app, upload_path=directory, upload_url="/uploads")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = _bind()
    await web.SockSite(runner, sock).start()
    _announce(sock, "/uploads")
    try:
        await _until_terminated()
    finally:
        await runner.cleanup()


async def serve_tuspyserver(directory: Path) -> None:
    """tuspyserver's ``create_tus_router`` in a FastAPI app under uvicorn, at ``/files/``."""
    fastapi = importlib.import_module("fastapi")
    tuspyserver = importlib.import_module("tuspyserver")
    uvicorn = importlib.import_module("uvicorn")
    app = fastapi.FastAPI()
    app.include_router(tuspyserver.create_tus_router(prefix="files", files_dir=str(directory)))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    sock = _bind()
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            await serving  # re-raise why it stopped
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    # The router answers OPTIONS only on "/files/" (POST works on both): announce that one.
    _announce(sock, "/files/")
    await serving  # uvicorn handles SIGTERM itself and returns


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=["aiohttp-tus", "tuspyserver"])
    parser.add_argument("--dir", type=Path, required=True, help="upload directory")
    parser.add_argument("--client-max-size", type=int, default=AIOHTTP_DEFAULT_MAX_SIZE)
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.peer == "aiohttp-tus":
        asyncio.run(serve_aiohttp_tus(args.dir, args.client_max_size))
    else:
        asyncio.run(serve_tuspyserver(args.dir))


if __name__ == "__main__":
    main()
