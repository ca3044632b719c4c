"""The server's command line, shared by ``tus serve`` and ``python -m tuskit_server``.

One argparse parser generated from :data:`~tuskit_server.settings.OPTIONS`: every option
is a flag that stays absent unless given, so the environment and the ``--config`` file
fill in the rest (:func:`~tuskit_server.settings.load_settings`).
"""

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from tuskit_server.settings import CONFIG_ENV, OPTIONS, ServerSettings, load_settings

__all__ = ["parser", "settings_from_argv"]

_DESCRIPTION = (
    "Run a tus 1.0.0 upload server (files in a directory or an S3 bucket) until SIGINT or "
    "SIGTERM. Every option "
    "is also read from the environment variable shown and from the --config TOML file "
    "(key: the option's name in snake_case); a flag wins over the environment, which wins "
    "over the file."
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not the whole usage) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser(prog: str) -> argparse.ArgumentParser:
    """Every option as a flag; a bad flag exits 2 (argparse), a bad value is checked later."""
    result = _Parser(prog=prog, description=_DESCRIPTION, argument_default=argparse.SUPPRESS)
    result.add_argument(
        "--config", type=Path, metavar="FILE", help=f"TOML file of options [env {CONFIG_ENV}]"
    )
    for option in OPTIONS:
        help_text = f"{option.help} [default: {option.default}; env {option.env}]"
        names = [option.flag, "-v"] if option.name == "verbose" else [option.flag]
        if option.kind == "flag":
            action: type[argparse.Action] | str = argparse.BooleanOptionalAction
            result.add_argument(*names, dest=option.name, action=action, help=help_text)
        elif option.kind == "list":
            result.add_argument(
                *names,
                dest=option.name,
                action="append",
                metavar=option.metavar,
                help=help_text + " Repeatable.",
            )
        else:
            result.add_argument(*names, dest=option.name, metavar=option.metavar, help=help_text)
    return result


def settings_from_argv(argv: Sequence[str] | None, *, prog: str) -> ServerSettings:
    """The settings of a command line (then the environment, the file and the defaults).

    Raises:
        SystemExit: 2 for an unknown flag or a missing value (argparse's message);
            0 after ``--help``.
        SettingsError: a bad value.
    """
    given = vars(parser(prog).parse_args(argv))
    config = given.pop("config", None)
    return load_settings(given, config=config)
