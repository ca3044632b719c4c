"""A ready-made application, for ``python -m tuskit_server`` and the ``tus serve`` CLI."""

from typing import Any

from aiohttp import web

from tuskit_server._setup import setup_tus

__all__ = ["create_app", "serve"]

READ_BUFSIZE = 1024 * 1024


def create_app(**setup_tus_kwargs: Any) -> web.Application:
    """A new :class:`aiohttp.web.Application` with one :func:`setup_tus` applied.

    Args:
        **setup_tus_kwargs: passed to :func:`setup_tus` unchanged (e.g. ``upload_path``).
    """
    # A 1 MiB body buffer (aiohttp's default is 64 KiB): the socket is paused and resumed
    # far less often during a large PATCH; memory per request stays bounded.
    app = web.Application(handler_args={"read_bufsize": READ_BUFSIZE})
    setup_tus(app, **setup_tus_kwargs)
    return app


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 1080,
    print_url: bool = True,
    **setup_tus_kwargs: Any,
) -> None:
    """Run a tus server until interrupted (blocking; uses :func:`aiohttp.web.run_app`)."""
    app = create_app(**setup_tus_kwargs)
    upload_url = setup_tus_kwargs.get("upload_url", "/uploads")
    web.run_app(
        app,
        host=host,
        port=port,
        print=(lambda _: print(f"tus endpoint: http://{host}:{port}{upload_url}", flush=True))
        if print_url
        else None,
    )
