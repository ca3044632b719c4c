"""The ``tus`` command: one Typer app, one module per command.

``serve`` imports tuskit_server only when it runs, so ``tus upload`` starts fast.
"""

from typing import Annotated

import typer

from tuskit_cli import delete, metadata, options, serve, upload
from tuskit_cli._app import TusCommand, TusGroup
from tuskit_cli._options import VerboseOption
from tuskit_cli._version import __version__

app = typer.Typer(
    name="tus",
    cls=TusGroup,
    help="Upload, resume, inspect and serve tus resumable uploads.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
for command in (upload.upload, metadata.metadata, delete.delete, options.options):
    app.command(cls=TusCommand)(command)
# serve hands its arguments to the server's own parser (tuskit_server.command), help included.
app.command(cls=TusCommand, context_settings=serve.CONTEXT_SETTINGS, add_help_option=False)(
    serve.serve
)


def _show_version(value: bool) -> None:
    if value:
        print(f"tus (tuskit) {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """Upload, resume, inspect and serve tus resumable uploads."""
    if verbose:  # ``tus --debug upload ...``: the command's own --verbose defaults to on
        ctx.default_map = {name: {"verbose": True} for name in ctx.command.commands}  # type: ignore[attr-defined]
