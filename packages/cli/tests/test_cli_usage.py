"""Exit codes and messages that need no server: usage errors (2) and network failures (1)."""

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tuskit_cli import __version__
from tuskit_cli.main import app

runner = CliRunner()
URL = "http://127.0.0.1:1/files/"


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


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["upload", "--chunk-size", "lots", URL, "FILE"],
            "--chunk-size: expected a size like 8MiB, 500kB or 1048576, got 'lots'",
        ),
        (
            ["upload", "--chunk-size", "0", URL, "FILE"],
            "--chunk-size: expected a size of at least 1 byte, like 8MiB, got '0'",
        ),
        (
            ["upload", "--checksum", "rot13", URL, "FILE"],
            "--checksum: 'rot13' is not one of sha1, md5, sha256, sha512, crc32",
        ),
        (["upload", "-H", "bad", URL, "FILE"], "--header: 'bad' is not 'Name: value'"),
        (
            ["upload", "--protocol", "tus2", URL, "FILE"],
            "--protocol: 'tus2' is not one of tus, ietf-draft, auto",
        ),
        (
            ["upload", "--draft-version", "9", URL, "FILE"],
            "--draft-version: '9' is not one of the interop versions 3, 4, 5, 6, 7, 8",
        ),
        (["upload", "-m", "=v", URL, "FILE"], "--metadata: '=v' has no key"),
        (
            ["upload", "not-a-url", "FILE"],
            "ENDPOINT: expected an http(s) URL like http://127.0.0.1:1080/files/, got 'not-a-url'",
        ),
        (
            ["options", "localhost:1080/files/"],
            "ENDPOINT: expected an http(s) URL like http://127.0.0.1:1080/files/, "
            "got 'localhost:1080/files/'",
        ),
        (
            ["metadata", "files/abc"],
            "URL: expected an http(s) URL like http://127.0.0.1:1080/files/, got 'files/abc'",
        ),
        (
            ["delete", "ftp://127.0.0.1/files/abc"],
            "URL: expected an http(s) URL like http://127.0.0.1:1080/files/, "
            "got 'ftp://127.0.0.1/files/abc'",
        ),
        (["upload", URL], "Missing argument 'FILE...' (see 'tus upload --help')"),
        (["upload", "--zzz", URL, "FILE"], "No such option: --zzz (see 'tus upload --help')"),
        (
            ["upload", "--chunksize", "1", URL, "FILE"],
            "No such option: --chunksize (Possible options: --chunk-size) "
            "(see 'tus upload --help')",
        ),
        (["nope"], "No such command 'nope' (see 'tus --help')"),
        (
            ["serve", "--expire-after", "soon"],
            "--expire-after: expected a duration like 90s, 30m, 24h or 7d, got 'soon'",
        ),
        (
            ["serve", "--max-size", "big"],
            "--max-size: expected a size like 8MiB, 500kB or 1048576, got 'big'",
        ),
    ],
)
def test_usage_errors_are_one_line_naming_the_option(
    tmp_path: Path, args: list[str], line: str
) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    args = [str(source) if arg == "FILE" else arg for arg in args]
    if args[0] == "serve":
        args += ["--storage", str(tmp_path / "uploads"), "--port", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"error: {line}"]


def test_stdin_twice_is_a_usage_error() -> None:
    result = runner.invoke(app, ["upload", "http://127.0.0.1:1/files/", "-", "-"])
    assert result.exit_code == 2


def test_unreachable_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"hello")
    port = _closed_port()
    endpoint = f"http://127.0.0.1:{port}/files/"
    result = runner.invoke(
        app,
        ["upload", "--retries", "0", "--store", str(tmp_path / "s.json"), endpoint, str(source)],
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {source}: cannot connect to 127.0.0.1:{port}: connection refused"
    ]


def test_metadata_of_unreachable_server_exit_1() -> None:
    port = _closed_port()
    result = runner.invoke(app, ["metadata", "--retries", "0", f"http://127.0.0.1:{port}/files/x"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: cannot connect to 127.0.0.1:{port}: connection refused"
    ]


def test_debug_before_the_command_name_turns_verbose_on() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/files/x"
    quiet = runner.invoke(app, ["metadata", "--retries", "0", url])
    assert "Traceback" not in quiet.stderr
    for flag in ("--debug", "-v", "--verbose"):
        loud = runner.invoke(app, [flag, "metadata", "--retries", "0", url])
        assert loud.exit_code == 1
        assert "Traceback" in loud.stderr  # --verbose shows the traceback before the line
        assert loud.stderr.rstrip().splitlines()[-1].startswith("error: cannot connect")


def test_serve_rejects_unknown_checksum(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--storage", str(tmp_path), "--checksum", "sha3", "--port", "0"]
    )
    assert result.exit_code == 2
    assert "sha3" in result.stderr


def test_metadata_the_draft_cannot_carry_fails_before_any_request(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    args = ["upload", "--protocol", "ietf-draft", "-m", "note=1", "--store"]
    args += [str(tmp_path / "store.json"), f"http://127.0.0.1:{_closed_port()}/files/"]
    result = runner.invoke(app, [*args, str(source)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {source}: the IETF draft carries only filename and filetype metadata "
        "(Content-Disposition, Content-Type), not note; use protocol 'tus' or 'auto'\n"
    )
    assert result.stdout == ""
