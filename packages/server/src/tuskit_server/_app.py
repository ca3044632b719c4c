"""A ready-made application, for ``python -m tuskit_server`` and the ``tus serve`` CLI."""

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tuskit_server._connections import Connections
from tuskit_server._demo import add_demo_routes
from tuskit_server._serving import run_app_until_signal, supervise, worker_settings
from tuskit_server._setup import setup_tus
from tuskit_server.access_log import LogFormat, access_log_options, drain_access_log

__all__ = ["create_app", "serve"]

READ_BUFSIZE = 1024 * 1024


def create_app(*, demo: bool = False, **setup_tus_kwargs: Any) -> web.Application:
    """A new :class:`aiohttp.web.Application` with one :func:`setup_tus` applied.

    Args:
        demo: also serve a browser upload page at ``/`` (``tus serve --demo``).
        **setup_tus_kwargs: passed to :func:`setup_tus` (e.g. ``upload_path``);
            ``file_names`` defaults to ``"id"`` here: a standalone server keeps tusd's layout.
    """
    setup_tus_kwargs.setdefault("file_names", "id")
    # A 1 MiB body buffer (aiohttp's default is 64 KiB): the socket is paused and resumed
    # far less often during a large PATCH; memory per request stays bounded.
    app = web.Application(handler_args={"read_bufsize": READ_BUFSIZE})
    setup_tus(app, **setup_tus_kwargs)
    if demo:
        add_demo_routes(app, setup_tus_kwargs.get("upload_url", "/uploads"))
    return app


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 1080,
    print_url: bool = True,
    workers: int = 1,
    shutdown_timeout: float = 10.0,
    on_ready: Callable[[str], None] | None = None,
    on_stopping: Callable[[], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    unix_socket: str | Path | None = None,
    access_log: LogFormat | None = None,
    keepalive_timeout: float = 15.0,
    max_connections: int | None = None,
    header_timeout: float = 10.0,
    **setup_tus_kwargs: Any,
) -> int:
    """Run a tus server until SIGINT or SIGTERM (blocking); returns the exit status.

    Args:
        host / port: where to listen (port 0: a free one).
        print_url: print ``tus endpoint: <URL>`` once the server is ready.
        workers: server processes behind the port (see :mod:`tuskit_server._serving`);
            more than one uses a :class:`FileLocker` (unless ``locker`` is given) and
            leaves out ``concatenation-unfinished`` unless the store shares its finals.
        shutdown_timeout: seconds in-flight requests get to finish on shutdown.
        on_ready: called with the endpoint URL once every process serves.
        on_stopping: called when SIGINT or SIGTERM begins the shutdown.
        ssl_context: serve HTTPS with it.
        unix_socket: listen on this Unix socket instead of ``host``:``port`` (one worker).
        access_log: one line per request on the ``tuskit_server.access`` logger, as
            ``"text"`` or ``"json"``; None keeps aiohttp's own access log.
        keepalive_timeout: seconds a connection may go without a complete request head
            after its previous response (idle keep-alive), or after it opened.
        header_timeout: seconds a new connection has to complete its first request head.
        max_connections: open connections per process; more get 503 and are closed
            (default: what fits below the descriptor limit, keeping 64 free).
        **setup_tus_kwargs: passed to :func:`create_app` (``demo``) and :func:`setup_tus`
            (e.g. ``upload_path``).
    """
    upload_url = setup_tus_kwargs.get("upload_url", "/uploads")
    scheme = "https" if ssl_context is not None else "http"
    runner_options = access_log_options(access_log)
    metrics = setup_tus_kwargs.get("metrics")

    def announce(bound_host: str, bound_port: int) -> None:
        if unix_socket is not None:
            url = f"{scheme}+unix://{quote(str(unix_socket), safe='')}{upload_url}"
        else:
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            url = f"{scheme}://{shown}:{bound_port}{upload_url}"
        if print_url:
            print(f"tus endpoint: {url}", flush=True)
        if on_ready is not None:
            on_ready(url)

    def watched(runner: web.AppRunner) -> None:
        if metrics is not None and runner.server is not None:
            metrics.watch_connections(runner.server)

    def site(runner: web.AppRunner) -> web.BaseSite:
        watched(runner)
        if unix_socket is not None:
            return web.UnixSite(runner, str(unix_socket), ssl_context=ssl_context)
        return web.TCPSite(runner, host, port, ssl_context=ssl_context)

    if workers < 1:
        raise ValueError("workers must be at least 1")
    if min(keepalive_timeout, header_timeout, max_connections or 1) <= 0:
        raise ValueError("keepalive_timeout, header_timeout and max_connections must be positive")
    limits = Connections(
        keepalive_timeout=keepalive_timeout,
        max_connections=max_connections,
        header_timeout=header_timeout,
    )
    if workers == 1:
        app = create_app(**setup_tus_kwargs)
        if access_log is not None:
            app.on_cleanup.append(drain_access_log)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_app_until_signal(
                    app,
                    site,
                    shutdown_timeout=shutdown_timeout,
                    ready=announce,
                    on_stopping=on_stopping,
                    runner_options=runner_options,
                    limits=limits,
                )
            )
        return 0
    if unix_socket is not None:
        raise ValueError("a Unix socket is served by one worker")
    with worker_settings(setup_tus_kwargs) as settings:

        def run_worker(sock: socket.socket, ready: Callable[[], None], lifeline: int) -> None:
            app = create_app(**settings)
            if access_log is not None:
                app.on_cleanup.append(drain_access_log)

            def worker_site(runner: web.AppRunner) -> web.BaseSite:
                watched(runner)
                return web.SockSite(runner, sock, ssl_context=ssl_context)

            asyncio.run(
                run_app_until_signal(
                    app,
                    worker_site,
                    shutdown_timeout=shutdown_timeout,
                    ready=lambda _host, _port: ready(),
                    lifeline=lifeline,
                    runner_options=runner_options,
                    limits=limits,
                )
            )

        return supervise(workers, host, port, run_worker, announce, on_stopping)
