"""The Click classes behind the ``tus`` app: help that shows metavars (``ENDPOINT``,
``FILE...``, ``SIZE``), never Python types (``<str>``), full command descriptions, and usage
errors as one line through :func:`tuskit_cli._console.usage_error`.
"""

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer import _click as click  # Typer 0.29 vendors Click: its classes are these
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from tuskit_cli import _console


def _metavar(param: TyperOption) -> str:
    """A metavar for an option that has none: N for counts, else its name (``PORT``)."""
    annotation = param.type_descriptor.annotation
    if annotation in (int, float):
        return "N"
    if annotation is Path:
        return "PATH"
    return param.name.upper()


class TusCommand(TyperCommand):
    """A command whose help names values by metavar: ``ENDPOINT FILE...``, ``--port PORT``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
                param.metavar = _metavar(param)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.display_name_raw
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                arguments.append((param.display_name_raw, record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class TusGroup(TyperGroup):
    """The ``tus`` group: whole one-line command descriptions, one-line usage errors."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                text = command.short_help or (command.help or "").strip()
                rows.append((name, text.split("\n\n")[0].replace("\n", " ")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's main, but a usage error is one line (``error: --x: ...``), exit code 2."""
        parts = (args, prog_name, complete_var)
        if not standalone_mode:
            return super().main(*parts, False, windows_expand_args, **extra)
        try:
            result = super().main(*parts, False, windows_expand_args, **extra)
        except click.ClickException as exc:
            sys.exit(_console.usage_error(exc))
        except typer.Abort:
            _console.stderr.print("interrupted", highlight=False)
            sys.exit(_console.INTERRUPTED)
        sys.exit(result if isinstance(result, int) else 0)
