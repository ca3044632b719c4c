"""Liveness and readiness endpoints for load balancers and orchestrators.

``GET /healthz`` answers 200 while the process serves requests. ``GET /readyz`` answers 200
once every store of every ``setup_tus`` endpoint answers a read (and a :class:`FileStore`'s
directory is writable) and its locker grants and releases a lock, else 503 with the first
failure on one line. Neither runs behind ``setup_tus``'s ``decorator`` unless asked.
"""

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from tuskit_common import Gone, NotFound
from tuskit_server._config import Decorator, Handler
from tuskit_server._endpoint import Endpoint
from tuskit_server.locks import hold
from tuskit_server.stores.file import FileStore

__all__ = ["HEALTH_KEY", "Health", "add_health_routes"]

#: An id no upload has: reading it must answer "not found".
PROBE_ID = "tuskit-readiness-probe"


@dataclass(frozen=True, slots=True)
class Health:
    """Where the health endpoints live.

    Attributes:
        live / ready: the paths of the liveness and readiness endpoints.
        decorated: run them behind ``setup_tus``'s ``decorator`` (e.g. authentication).
        timeout: seconds the readiness check may take before it counts as a failure.
    """

    live: str = "/healthz"
    ready: str = "/readyz"
    decorated: bool = False
    timeout: float = 5.0


#: Whether an app already serves its health endpoints (several setup_tus calls share them).
HEALTH_KEY: Final = web.AppKey("tuskit_server.health", Health)


async def _check(endpoint: Endpoint) -> None:
    """Raise unless the endpoint's stores and locker answer."""
    for composer in await endpoint.stores():
        store = composer.core
        # "no such upload" (or "gone") is an answer; any other error, a store that could
        # not answer (e.g. S3 failing: 503) is not
        with contextlib.suppress(NotFound, Gone):
            await store.get(PROBE_ID)
        if isinstance(store, FileStore):
            root = store.root
            writable = await asyncio.to_thread(os.access, root, os.W_OK | os.X_OK)
            if not writable:
                raise OSError(f"{root} is not a writable directory")
    async with hold(endpoint.locker, PROBE_ID, wait=endpoint.config.lock_timeout, on_release=_noop):
        pass


def _noop() -> None:
    """The probe's lock gives way only when released."""


def _ready_view(endpoints: Callable[[], list[Endpoint]], timeout: float) -> Handler:
    async def ready(_: web.Request) -> web.StreamResponse:
        try:
            async with asyncio.timeout(timeout):
                for endpoint in endpoints():
                    await _check(endpoint)
        except TimeoutError:
            return web.Response(status=503, text="not ready: the readiness check timed out\n")
        except Exception as exc:  # any failure of a store or locker means "not ready"
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return web.Response(status=503, text=f"not ready: {reason}\n")
        return web.Response(text="ready\n")

    return ready


async def _live(_: web.Request) -> web.StreamResponse:
    return web.Response(text="ok\n")


def add_health_routes(
    app: web.Application,
    health: Health,
    endpoints: Callable[[], list[Endpoint]],
    decorator: Decorator | None,
) -> None:
    """Register ``health``'s two GET (and HEAD) routes on ``app``, once per app."""
    existing = app.get(HEALTH_KEY)
    if existing is not None:
        if existing != health:
            raise ValueError("the health endpoints of one app must be configured alike")
        return
    app[HEALTH_KEY] = health
    views: list[tuple[str, Handler]] = [
        (health.live, _live),
        (health.ready, _ready_view(endpoints, health.timeout)),
    ]
    for path, view in views:
        wrapped = decorator(view) if decorator is not None and health.decorated else view
        app.router.add_get(path, wrapped)
