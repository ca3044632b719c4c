"""MkDocs hook: the ``tus`` command reference, rendered from the Typer app at build time.

A page holding ``<!-- tus-commands -->`` gets every command's ``--help`` text, and one holding
``<!-- tus-serve-options -->`` gets the table of ``tus serve``'s options, built from
``tuskit_server.settings.OPTIONS`` (the single list of them). Nothing is copied by hand, so
the pages follow the code.
"""

from __future__ import annotations

from typing import Any

import typer
from typer import _click as click  # Typer vendors Click: the app's classes are these
from typer.core import TyperGroup

from tuskit_cli.main import app
from tuskit_server.settings import CONFIG_ENV, OPTIONS

COMMANDS_MARKER = "<!-- tus-commands -->"
SERVE_MARKER = "<!-- tus-serve-options -->"
#: Help is wrapped as on a terminal this wide.
WIDTH = 96


def _help(command: click.Command, name: str, parent: click.Context | None) -> str:
    ctx = click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH)
    return command.get_help(ctx)


def commands_markdown() -> str:
    """``tus --help``, then each command's help, in the app's order."""
    group = typer.main.get_command(app)
    root = click.Context(group, info_name="tus", terminal_width=WIDTH)
    parts = ["### `tus`", "", "```text", group.get_help(root), "```", ""]
    assert isinstance(group, TyperGroup)
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        if command is None:
            continue
        parts += [f"### `tus {name}`", ""]
        if name == "serve":
            parts += [
                "`tus serve` hands its arguments to the server's own parser "
                "(`python -m tuskit_server` is the same command): every option, with its "
                "environment variable and TOML key, is on the "
                "[Configuration](configuration.md#every-option) page.",
                "",
            ]
            continue
        parts += ["```text", _help(command, name, root), "```", ""]
    return "\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def serve_options_markdown() -> str:
    """One row per option of ``tus serve``: flag, variable, TOML key, default, meaning."""
    rows = [
        "| Flag | Environment | TOML key | Default | Meaning |",
        "|---|---|---|---|---|",
        f"| `--config FILE` | `{CONFIG_ENV}` | — | none | The TOML file of options. |",
    ]
    for option in OPTIONS:
        if option.kind == "flag":
            flag = f"`{option.flag}` / `--no-{option.flag[2:]}`"
        else:
            flag = f"`{option.flag} {_cell(option.metavar)}`"
            if option.kind == "list":
                flag += " (repeatable)"
        rows.append(
            f"| {flag} | `{option.env}` | `{option.name}` | `{_cell(option.default)}` "
            f"| {_cell(option.help)} |"
        )
    return "\n".join(rows) + "\n"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace the markers with the generated reference."""
    if COMMANDS_MARKER in markdown:
        markdown = markdown.replace(COMMANDS_MARKER, commands_markdown())
    if SERVE_MARKER in markdown:
        markdown = markdown.replace(SERVE_MARKER, serve_options_markdown())
    return markdown
