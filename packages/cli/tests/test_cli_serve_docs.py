"""``tus serve``'s page documents every option as it is, and the client commands start
without loading the server."""

import subprocess
import sys
from pathlib import Path

import pytest

from tuskit_server.settings import OPTIONS, Option

README = (Path(__file__).parents[1] / "README.md").read_text()


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.name)
def test_the_configuration_table_has_every_option(option: Option) -> None:
    rows = [line for line in README.splitlines() if f"| `{option.env}` |" in line]
    assert len(rows) == 1, f"{option.env} is not in the table of packages/cli/README.md"
    [row] = rows
    assert row.startswith(f"| `{option.flag}")
    assert f"| `{option.name}` | {option.default} |" in row


def test_client_commands_do_not_import_the_server() -> None:
    probe = "import sys, tuskit_cli.main; print('tuskit_server' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
