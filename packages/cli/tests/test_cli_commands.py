"""Every command and option of ``tus`` against a real tuskit server (CliRunner, sync)."""

import base64
import hashlib
import io
import json
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from rich.console import Console
from tus_cli_testing import ThreadServer, serve_in_thread
from typer.testing import CliRunner

from tuskit_cli import _console
from tuskit_cli.main import app

runner = CliRunner()


def tus(*args: str, stdin: bytes | None = None) -> "CliResult":
    result = runner.invoke(app, list(args), input=stdin)
    return CliResult(result.exit_code, result.stdout, result.stderr)


class CliResult:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr

    def urls(self) -> list[str]:
        return self.stdout.split()


@pytest.fixture(autouse=True)
def _quiet_loggers() -> Iterator[None]:
    """--verbose adds handlers to the package loggers; remove them after each test."""
    yield
    for name in ("tuskit_client", "tuskit_server", "tuskit_cli", "aiohttp.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)


def test_upload_prints_url_and_stores_the_exact_bytes(server: ThreadServer, source: Path) -> None:
    result = tus("upload", server.endpoint, str(source))
    assert result.exit_code == 0, result.stderr
    [url] = result.urls()
    assert url.startswith(server.endpoint)
    assert server.download(url) == source.read_bytes()
    assert result.stderr == ""


def test_several_files_in_order(server: ThreadServer, tmp_path: Path) -> None:
    files = []
    for i in range(4):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(f"file {i} ".encode() * (i * 1000 + 1))
        files.append(path)
    result = tus("upload", server.endpoint, *map(str, files))
    assert result.exit_code == 0, result.stderr
    urls = result.urls()
    assert len(urls) == 4
    for url, path in zip(urls, files, strict=True):
        assert server.download(url) == path.read_bytes()


def test_metadata_options_and_automatic_filename(server: ThreadServer, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG....")
    result = tus("upload", "-m", "owner=zoë", "--metadata", "flag", server.endpoint, str(photo))
    assert result.exit_code == 0, result.stderr
    [url] = result.urls()
    shown = tus("metadata", url)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "owner: zoë",
        "flag",
        "filename: photo.png",
        "filetype: image/png",
        "mime_type: image/png",
    ]
    as_json = json.loads(tus("metadata", "--json", url).stdout)
    assert as_json["offset"] == as_json["length"] == 8
    assert as_json["complete"] is True
    assert as_json["metadata"]["owner"] == "zoë"
    assert as_json["metadata"]["flag"] is None


def test_given_filename_wins(server: ThreadServer, source: Path) -> None:
    result = tus("upload", "-m", "filename=other.txt", server.endpoint, str(source))
    [url] = result.urls()
    assert "filename: other.txt" in tus("metadata", url).stdout


def test_chunk_size_splits_patches(server: ThreadServer, source: Path) -> None:
    result = tus("upload", "--chunk-size", "100kB", server.endpoint, str(source))
    assert result.exit_code == 0, result.stderr
    # creation-with-upload carries the first chunk in the POST, the rest go in PATCHes
    sent = [r for r in server.requests if r.method in ("POST", "PATCH")]
    assert [r.method for r in sent] == ["POST", "PATCH", "PATCH"]
    assert [r.headers["Content-Length"] for r in sent] == ["100000"] * 3


def test_header_option_reaches_every_request(server: ThreadServer, source: Path) -> None:
    result = tus("upload", "-H", "Authorization: Bearer t0ken", server.endpoint, str(source))
    assert result.exit_code == 0, result.stderr
    assert server.requests
    assert all(r.headers.get("Authorization") == "Bearer t0ken" for r in server.requests)


def test_checksum_option_sends_digests(server: ThreadServer, source: Path) -> None:
    result = tus(
        "upload", "--checksum", "sha256", "--chunk-size", "150kB", server.endpoint, str(source)
    )
    assert result.exit_code == 0, result.stderr
    data = source.read_bytes()
    sent = [r for r in server.requests if r.method in ("POST", "PATCH")]
    digests = [r.headers.get("Upload-Checksum") for r in sent]
    expected = [
        "sha256 " + base64.b64encode(hashlib.sha256(data[i : i + 150_000]).digest()).decode()
        for i in (0, 150_000)
    ]
    assert digests == expected


def test_unknown_checksum_is_a_usage_error_before_any_request(
    server: ThreadServer, source: Path
) -> None:
    result = tus("upload", "--checksum", "sha3", server.endpoint, str(source))
    assert result.exit_code == 2  # as for tus serve --checksum sha3
    assert result.stderr.splitlines() == [
        "error: --checksum: 'sha3' is not one of sha1, md5, sha256, sha512, crc32"
    ]
    assert server.requests == []


def test_parallel_concatenates_parts(server: ThreadServer, source: Path) -> None:
    result = tus("upload", "--parallel", "3", server.endpoint, str(source))
    assert result.exit_code == 0, result.stderr
    [url] = result.urls()
    assert server.download(url) == source.read_bytes()
    concat = [p.headers.get("Upload-Concat", "") for p in server.seen("POST")]
    assert concat.count("partial") == 3
    assert sum(c.startswith("final;") for c in concat) == 1


def test_resume_by_default_and_no_resume(server: ThreadServer, source: Path) -> None:
    first = tus("upload", server.endpoint, str(source)).urls()
    again = tus("upload", server.endpoint, str(source)).urls()
    assert again == first  # the finished upload is found in the store, not sent again
    fresh = tus("upload", "--no-resume", server.endpoint, str(source)).urls()
    assert fresh != first
    assert server.download(fresh[0]) == source.read_bytes()


def test_retries_option(server: ThreadServer, source: Path) -> None:
    chunked = ("--chunk-size", "100kB", "--no-resume", server.endpoint, str(source))
    server.fail_next("PATCH", 503)
    failed = tus("upload", "--retries", "0", *chunked)
    assert failed.exit_code == 1
    assert "503" in failed.stderr
    server.fail_next("PATCH", 503, 503)
    assert tus("upload", "--retries", "1", *chunked).exit_code == 1  # two failures, one retry
    server.fail_next("PATCH", 503, 503)
    ok = tus("upload", "--retries", "2", *chunked)
    assert ok.exit_code == 0, ok.stderr
    assert server.download(ok.urls()[0]) == source.read_bytes()


def test_stdin_is_uploaded(server: ThreadServer) -> None:
    # CliRunner's stdin is seekable, so its size is known; a real pipe (deferred length) is
    # covered end to end in integration_tests/test_cli_e2e.py.
    data = bytes(range(256)) * 1000
    result = tus("upload", "--chunk-size", "64KiB", server.endpoint, "-", stdin=data)
    assert result.exit_code == 0, result.stderr
    [url] = result.urls()
    assert server.download(url) == data
    assert "filename" not in tus("metadata", url).stdout


def test_delete_then_metadata_fails(server: ThreadServer, source: Path) -> None:
    [url] = tus("upload", server.endpoint, str(source)).urls()
    deleted = tus("delete", url)
    assert deleted.exit_code == 0, deleted.stderr
    gone = tus("metadata", url)
    assert gone.exit_code == 1
    assert "404" in gone.stderr or "410" in gone.stderr


def test_options_text_and_json(server: ThreadServer) -> None:
    text = tus("options", server.endpoint)
    assert text.exit_code == 0, text.stderr
    assert "versions: 1.0.0" in text.stdout
    assert "concatenation" in text.stdout
    document = json.loads(tus("options", "--json", server.endpoint).stdout)
    assert document["versions"] == ["1.0.0"]
    assert "creation" in document["extensions"]
    assert "sha1" in document["checksum_algorithms"]


@pytest.mark.parametrize("flag", ["-v", "--verbose", "--debug"])
def test_verbose_logs_to_stderr(server: ThreadServer, source: Path, flag: str) -> None:
    result = tus("upload", flag, server.endpoint, str(source))
    assert result.exit_code == 0
    assert result.urls()[0].startswith(server.endpoint)
    assert "complete" in result.stderr


def test_progress_bar_on_a_terminal_and_quiet(
    server: ThreadServer, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(_console, "stderr", terminal)
    shown = tus("upload", "--no-resume", server.endpoint, str(source))
    assert shown.exit_code == 0
    assert str(source) in screen.getvalue()
    assert "300.0" in screen.getvalue()  # DownloadColumn shows the 300 kB total
    screen.seek(0)
    screen.truncate()
    quiet = tus("upload", "--quiet", "--no-resume", server.endpoint, str(source))
    assert quiet.exit_code == 0
    assert screen.getvalue() == ""


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[ThreadServer]:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with serve_in_thread(tmp_path / "tls-uploads", ssl_context=context) as running:
        yield running


def test_insecure_accepts_an_untrusted_certificate(tls_server: ThreadServer, source: Path) -> None:
    refused = tus("upload", "--retries", "0", tls_server.endpoint, str(source))
    assert refused.exit_code == 1
    assert "certificate" in refused.stderr.lower()
    accepted = tus("upload", "--insecure", "--retries", "0", tls_server.endpoint, str(source))
    assert accepted.exit_code == 0, accepted.stderr
    assert accepted.urls()[0].startswith("https://127.0.0.1:")


def test_a_wrong_endpoint_is_one_line_with_a_hint(server: ThreadServer, source: Path) -> None:
    root = server.endpoint.removesuffix("files/")
    hint = f"(is ENDPOINT the server's creation URL, e.g. {root}files/?)"
    result = tus("upload", "--retries", "0", root, str(source))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {source}: POST {root} answered 404 Not Found {hint}"
    ]
    shown = tus("options", "--retries", "0", root + "elsewhere/")
    assert shown.exit_code == 1
    assert shown.stderr.splitlines() == [
        f"error: OPTIONS {root}elsewhere/ answered 404 Not Found {hint}"
    ]
    missing = tus("metadata", "--retries", "0", server.endpoint + "0123456789abcdef")
    assert missing.exit_code == 1
    [line] = missing.stderr.splitlines()
    assert "404" in line
    assert "ENDPOINT" not in line  # an upload URL that is gone is not a wrong endpoint


def test_debug_before_the_command_name(server: ThreadServer, source: Path) -> None:
    result = tus("--debug", "upload", server.endpoint, str(source))
    assert result.exit_code == 0, result.stderr
    assert "complete" in result.stderr
