"""The help texts at a fixed width: metavars, never Python types; whole command lines."""

import re

import pytest
from typer.testing import CliRunner

from tuskit_cli.main import app

runner = CliRunner()
COMMANDS = ("upload", "metadata", "delete", "options", "serve")


def help_text(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tus_help_lists_each_command_with_its_whole_description_on_one_line() -> None:
    text = help_text()
    rows = text.split("Commands:\n", 1)[1].splitlines()
    assert [row.split()[0] for row in rows] == list(COMMANDS)  # one line each, no wrapping
    assert all(row.endswith(".") and not row.endswith("...") for row in rows), rows
    assert "  upload    Upload FILEs to ENDPOINT and print their upload URLs in order." in rows
    assert "-v, --verbose, --debug" in text  # also accepted before the command name


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_no_python_types(command: str) -> None:
    text = help_text(*filter(None, [command]))
    assert not re.search(r"<[a-z][a-z\[\] ]*>", text), text
    assert "{" not in text
    assert all(len(line) <= 80 for line in text.splitlines())


@pytest.mark.parametrize(
    ("command", "usage", "metavars"),
    [
        (
            "upload",
            "Usage: tus upload [OPTIONS] ENDPOINT FILE...",
            [
                "  ENDPOINT ",
                "  FILE... ",
                "--metadata KEY=VALUE",
                "--header 'Name: value'",
                "--chunk-size SIZE",
                "--parallel N",
                "--checksum ALG",
                "--store FILE",
                "--retries N",
            ],
        ),
        ("metadata", "Usage: tus metadata [OPTIONS] URL", ["  URL ", "--retries N"]),
        ("delete", "Usage: tus delete [OPTIONS] URL", ["  URL ", "--header 'Name: value'"]),
        ("options", "Usage: tus options [OPTIONS] ENDPOINT", ["  ENDPOINT "]),
        (  # the server's own parser (shared with python -m tuskit_server) writes this one
            "serve",
            "usage: tus serve [-h] [--config FILE] [--host ADDRESS] [--port PORT]",
            ["--port PORT", "--max-size SIZE", "--expire-after DURATION", "--checksum ALG"],
        ),
    ],
)
def test_help_names_values_by_metavar(command: str, usage: str, metavars: list[str]) -> None:
    text = help_text(command)
    assert text.splitlines()[0] == usage
    for metavar in metavars:
        assert metavar in text, metavar


def test_retries_help_states_the_budget_for_an_unreachable_server() -> None:
    text = " ".join(help_text("upload").split())
    assert "a server that refuses connections is retried for 10 s at most" in text
