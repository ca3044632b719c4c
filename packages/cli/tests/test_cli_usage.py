"""Exit codes and messages that need no server: usage errors (2) and network failures (1)."""

import socket
from pathlib import Path

from typer.testing import CliRunner

from tuskit_cli import __version__
from tuskit_cli.main import app

runner = CliRunner()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tus (tuskit) {__version__}"


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "upload" in result.output
    assert "serve" in result.output


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["upload", "http://127.0.0.1:1/files/", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "is not a readable file" in result.stderr
    assert result.stdout == ""


def test_bad_chunk_size_and_header_are_usage_errors(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    url = "http://127.0.0.1:1/files/"
    result = runner.invoke(app, ["upload", "--chunk-size", "lots", url, str(source)])
    assert result.exit_code == 2
    assert "not a size" in result.stderr
    result = runner.invoke(app, ["upload", "-H", "bad", url, str(source)])
    assert result.exit_code == 2
    assert "Name: value" in result.stderr


def test_stdin_twice_is_a_usage_error() -> None:
    result = runner.invoke(app, ["upload", "http://127.0.0.1:1/files/", "-", "-"])
    assert result.exit_code == 2


def test_unreachable_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"hello")
    endpoint = f"http://127.0.0.1:{_closed_port()}/files/"
    result = runner.invoke(
        app,
        ["upload", "--retries", "0", "--store", str(tmp_path / "s.json"), endpoint, str(source)],
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in result.stderr


def test_metadata_of_unreachable_server_exit_1() -> None:
    result = runner.invoke(
        app, ["metadata", "--retries", "0", f"http://127.0.0.1:{_closed_port()}/files/x"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error:")


def test_serve_rejects_unknown_checksum(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--storage", str(tmp_path), "--checksum", "sha3", "--port", "0"]
    )
    assert result.exit_code == 2
    assert "sha3" in result.stderr
