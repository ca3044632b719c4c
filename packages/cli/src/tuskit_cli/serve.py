"""``tus serve``: run the tuskit server with a file store until SIGINT or SIGTERM.

The arguments go unparsed to :func:`tuskit_server.command.parser`, the one command line of
the server (``python -m tuskit_server`` uses it too), so both take the same options with
the same defaults. tuskit_server is imported only when the command runs, so the client
commands start without loading the server.
"""

import typer

from tuskit_cli import _console

USAGE_ERROR = 2

#: Typer leaves every argument (``--help`` included) to the server's own parser.
CONTEXT_SETTINGS = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "help_option_names": [],
}


def serve(ctx: typer.Context) -> None:
    """Run a tus server with file storage (./uploads by default)."""
    from tuskit_server.command import settings_from_argv
    from tuskit_server.launch import StartupError, run
    from tuskit_server.settings import SettingsError

    try:
        settings = settings_from_argv(ctx.args, prog="tus serve")
    except SettingsError as exc:
        _console.report(exc, verbose=False)
        raise typer.Exit(USAGE_ERROR) from None
    _console.setup_logging(settings.verbose, server_warnings=True)

    def ready(url: str) -> None:
        print(url, flush=True)
        processes = f", {settings.workers} processes" if settings.workers > 1 else ""
        _console.stderr.print(
            f"serving tus uploads into {settings.storage.resolve()}{processes} (Ctrl-C to stop)",
            highlight=False,
        )

    def stopping() -> None:
        _console.stderr.print("shutting down: finishing in-flight requests", highlight=False)

    try:
        status = run(
            settings,
            on_ready=ready,
            on_stopping=stopping,
            on_notice=lambda text: _console.stderr.print(f"note: {text}", highlight=False),
        )
    except StartupError as exc:
        _console.report(exc, verbose=settings.verbose)
        raise typer.Exit(_console.FAILURE) from None
    if status:
        raise typer.Exit(status)
