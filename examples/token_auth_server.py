"""A tus server in an aiohttp application that accepts uploads only with a bearer token.

    TUS_TOKEN=secret python examples/token_auth_server.py --port 1080 --storage uploads

``setup_tus(..., decorator=...)`` wraps every tus view except OPTIONS (so browsers' CORS
preflights pass): a request without ``Authorization: Bearer <TUS_TOKEN>`` gets 401. The
creation URL is printed once the server accepts connections; SIGINT or SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import signal
from pathlib import Path

from aiohttp import web

from tuskit_server import Decorator, Handler, setup_tus


# --8<-- [start:bearer]
def bearer_token(token: str) -> Decorator:
    """A ``decorator`` for ``setup_tus``: 401 unless the request carries the token."""
    expected = f"Bearer {token}".encode()

    def decorate(handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise web.HTTPUnauthorized(
                    text="a bearer token is required\n",
                    headers={"WWW-Authenticate": 'Bearer realm="uploads"'},
                )
            return await handler(request)

        return checked

    return decorate


# --8<-- [end:bearer]


# --8<-- [start:app]
def make_app(storage: Path, token: str) -> web.Application:
    app = web.Application()
    setup_tus(
        app,
        upload_path=storage,
        upload_url="/files",
        decorator=bearer_token(token),
        max_size=1 << 30,
    )
    return app


# --8<-- [end:app]
async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1080, help="0 picks a free port")
    parser.add_argument("--storage", type=Path, default=Path("uploads"))
    args = parser.parse_args()
    token = os.environ.get("TUS_TOKEN")
    if not token:
        parser.error("set TUS_TOKEN to the token clients must send")
    runner = web.AppRunner(make_app(args.storage, token))
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}/files/", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
