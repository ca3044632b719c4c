"""aiotus's command line (``tuskit_cli.aiotus.main``) against a real tuskit server: its
grammar, its metadata keys and its exit codes."""

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from tus_cli_testing import ThreadServer

from tuskit_cli.aiotus import main, upload_metadata
from tuskit_client import RetryConfiguration, retry


@pytest.fixture(autouse=True)
def _quiet_loggers() -> Iterator[None]:
    """--debug adds handlers to the package loggers; remove them after each test."""
    yield
    for name in ("tuskit_client", "tuskit_server", "tuskit_cli", "aiohttp.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "job.py"
    path.write_text("print('hello')\n")
    return path


def test_no_command_is_a_failure_with_aiotus_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 1
    assert capsys.readouterr().err.splitlines()[0] == "No command specified."


def test_upload_then_metadata_print_aiotus_keys(
    server: ThreadServer, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upload", server.endpoint, str(script)]) == 0
    url = capsys.readouterr().out.splitlines()[0]
    assert server.download(url) == script.read_bytes()
    for argv in (["metadata", url], ["--debug", "metadata", url], ["metadata", "--debug", url]):
        assert main(argv) == 0
        lines = sorted(capsys.readouterr().out.splitlines())
        assert lines == ["filename: job.py", "mime_type: text/x-python"]


def test_metadata_options_add_entries(
    server: ThreadServer, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["upload", "--metadata", "k1=v1", "--metadata", "k2", server.endpoint, str(script)]
    assert main(argv) == 0
    url = capsys.readouterr().out.splitlines()[0]
    assert main(["metadata", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "k1: v1" in lines
    assert "k2" in lines


def test_upload_failures_exit_1(
    server: ThreadServer, script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upload", server.endpoint, str(tmp_path / "missing.py")]) == 1
    assert "missing.py" in capsys.readouterr().err
    config = RetryConfiguration(1, 0.001, ssl=False)
    defaults = (None, None, config, None, 4 * 1024 * 1024)
    # upload is looked up at call time and keeps its defaults: patching them works.
    with mock.patch.object(retry.upload, "__defaults__", defaults):
        server.fail_next("POST", 500)
        assert main(["--debug", "upload", server.endpoint, str(script)]) == 1
    assert len(server.seen("POST")) == 1  # one attempt, as the patched config says
    assert main(["upload", "--metadata", "bad key=x", server.endpoint, str(script)]) == 1
    assert "spaces" in capsys.readouterr().err


def test_metadata_failure_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with mock.patch("tuskit_client.retry.metadata", return_value=None):
        assert main(["metadata", "http://example.invalid/files/x"]) == 1
    assert "Unable to get the metadata" in capsys.readouterr().err


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["upload", "http://h/files/"])
    assert info.value.code == 2
    assert "FILE" in capsys.readouterr().err


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuskit_cli.aiotus"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "No command specified."


def test_upload_metadata_guesses_the_type_and_lets_entries_win() -> None:
    assert upload_metadata(Path("a/b.png"), []) == {
        "filename": b"b.png",
        "mime_type": b"image/png",
    }
    assert upload_metadata(Path("noext"), ["filename=x", "flag"]) == {
        "filename": b"x",
        "flag": None,
    }
