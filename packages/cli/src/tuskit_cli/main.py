"""The ``tus`` command: one Typer app, one module per command.

``serve`` imports tuskit_server only when it runs, so ``tus upload`` starts fast.
"""

from typing import Annotated

import typer

from tuskit_cli import delete, metadata, options, serve, upload
from tuskit_cli._version import __version__

app = typer.Typer(
    name="tus",
    help="Upload, resume, inspect and serve tus resumable uploads.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(upload.upload)
app.command()(metadata.metadata)
app.command()(delete.delete)
app.command()(options.options)
app.command(context_settings=serve.CONTEXT_SETTINGS, add_help_option=False)(serve.serve)


def _show_version(value: bool) -> None:
    if value:
        print(f"tus (tuskit) {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Upload, resume, inspect and serve tus resumable uploads."""
