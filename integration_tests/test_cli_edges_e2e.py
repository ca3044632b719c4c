"""The real ``tus`` processes at the command line's edges: a server that is down, bad input,
a wrong ENDPOINT and Ctrl-C mid-upload. Each failure is one line with the right exit code
(0 ok, 1 upload/network failure, 2 usage, 130 interrupted), never a traceback or a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import re
import signal
import threading
from pathlib import Path

import pytest

from integration_tests.faultproxy import Fault, FaultProxy
from integration_tests.harness import free_port
from integration_tests.test_cli_e2e import TUS, WAIT, data_files, tus, tus_serve, wait_until_stored


async def test_a_server_that_is_down_fails_within_the_budget_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"hello")
    port = free_port()  # nothing listens: every connection is refused
    code, out, err = await tus(  # the default --retries 10, bounded by the 10 s budget
        "upload",
        "--store",
        str(tmp_path / "s.json"),
        f"http://127.0.0.1:{port}/files/",
        str(source),
    )
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"error: {source}: cannot connect to 127.0.0.1:{port}: connection refused "
        "(retried for 10 s)"
    ]


def _read_all(fd: int, into: bytearray) -> None:
    """Read a pty until the other side is closed (EIO on Linux)."""
    with contextlib.suppress(OSError):
        while chunk := os.read(fd, 4096):
            into += chunk


async def test_on_a_terminal_the_wait_is_one_updating_line_then_the_error(tmp_path: Path) -> None:
    port = free_port()
    controller, terminal = pty.openpty()
    seen = bytearray()
    reader = threading.Thread(target=_read_all, args=(controller, seen), daemon=True)
    reader.start()
    try:
        process = await asyncio.create_subprocess_exec(
            *TUS,
            "metadata",
            "--retries",
            "1",
            f"http://127.0.0.1:{port}/files/x",
            stdout=asyncio.subprocess.PIPE,
            stderr=terminal,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
        )
        out, _ = await asyncio.wait_for(process.communicate(), WAIT)
    finally:
        os.close(terminal)
    reader.join(WAIT)
    os.close(controller)
    assert process.returncode == 1
    assert out == b""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    waiting = f"cannot connect to 127.0.0.1:{port}: connection refused; retrying, 10 s left"
    assert waiting in text  # the updating line (redrawn in place, erased at the end)
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    assert lines[-1] == f"error: cannot connect to 127.0.0.1:{port}: connection refused"
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("args", "code", "start"),
    [
        (["upload", "not-a-url", "FILE"], 2, "error: ENDPOINT: expected an http(s) URL"),
        (["metadata", "not-a-url"], 2, "error: URL: expected an http(s) URL"),
        (["upload", "--chunk-size", "0", "URL", "FILE"], 2, "error: --chunk-size: expected"),
        (["upload", "--chunk-size", "abc", "URL", "FILE"], 2, "error: --chunk-size: expected"),
        (["upload", "--checksum", "rot13", "URL", "FILE"], 2, "error: --checksum: 'rot13'"),
        (["serve", "--checksum", "rot13", "--storage", "DIR"], 2, "error: --checksum: 'rot13'"),
        (["serve", "--expire-after", "soon", "--storage", "DIR"], 2, "error: --expire-after:"),
        (["serve", "--storage", "/proc/nope"], 1, "error: storage /proc/nope cannot be used"),
    ],
)
async def test_bad_input_is_one_line_with_its_exit_code(
    tmp_path: Path, args: list[str], code: int, start: str
) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    given = {"FILE": str(source), "URL": "http://127.0.0.1:1/files/", "DIR": str(tmp_path)}
    argv = [given.get(arg, arg) for arg in args]
    if argv[0] == "serve":
        argv += ["--port", "0"]
    got, out, err = await tus(*argv)
    assert got == code, err
    assert out == ""
    [line] = err.splitlines()  # one line: no traceback, no usage block
    assert line.startswith(start), line


async def test_a_wrong_endpoint_gets_a_hint(tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 1000)
    async with tus_serve(tmp_path / "uploads") as (endpoint, _):
        root = endpoint.removesuffix("files/")
        code, out, err = await tus("upload", "--store", str(tmp_path / "s.json"), root, str(source))
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"error: {source}: POST {root} answered 404 Not Found "
        f"(is ENDPOINT the server's creation URL, e.g. {root}files/?)"
    ]


def _ctrl_c_as_at_a_terminal() -> None:
    """SIGINT's default action in the child, as a shell gives a foreground command: a test
    run started in the background (``cmd &``) would otherwise pass on an ignored SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_ctrl_c_prints_the_upload_url_and_the_rerun_resumes_it(tmp_path: Path) -> None:
    size = 6 * 1024 * 1024
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(size))
    storage = tmp_path / "uploads"
    async with (
        tus_serve(storage) as (endpoint, _),
        FaultProxy(endpoint, fault=Fault(bytes_per_second=2 * 1024 * 1024)) as proxy,
    ):
        args = ("upload", "--store", str(tmp_path / "s.json"), "--chunk-size", "1MiB")
        uploader = await asyncio.create_subprocess_exec(
            *TUS,
            *args,
            proxy.url,
            str(source),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=_ctrl_c_as_at_a_terminal,
        )
        await wait_until_stored(storage, 512 * 1024)  # the upload has started
        uploader.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(uploader.communicate(), WAIT)
        assert uploader.returncode == 130, err.decode()
        [data] = data_files(storage)
        url = proxy.url + data.name
        assert out.decode() == ""  # stdout is for finished uploads only
        assert err.decode().splitlines() == [
            f"interrupted: {source} is unfinished at {url}; run the same tus upload again "
            "to resume it"
        ]
        assert data.stat().st_size < size
        code, out_text, err_text = await tus(*args, proxy.url, str(source))
        assert code == 0, err_text
        assert out_text.strip() == url  # the same upload, continued
        assert (storage / data.name).read_bytes() == source.read_bytes()


async def test_help_at_80_columns_shows_metavars_and_whole_descriptions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = await tus("--help")
    assert (code, err) == (0, "")
    whole = r"^\W*upload\s+Upload FILEs to ENDPOINT and print their upload URLs in order\.\W*$"
    assert re.search(whole, out, re.MULTILINE), out  # one line, not cut off
    for command in ("upload", "metadata", "delete", "options", "serve"):
        code, out, err = await tus(command, "--help")
        assert (code, err) == (0, ""), command
        assert not re.search(r"<[a-z][a-z\[\] ]*>", out), out  # no <str>, <list[str]>
        assert "{" not in out
        assert all(len(line) <= 80 for line in out.splitlines()), out


async def test_info_files_keep_their_mode_when_tus_serve_rewrites_them(tmp_path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    source = tmp_path / "a.bin"
    source.write_bytes(os.urandom(3000))
    storage = tmp_path / "uploads"
    async with tus_serve(storage) as (endpoint, _):
        code, out, err = await tus(
            "upload",
            "--chunk-size",
            "1KiB",
            "--store",
            str(tmp_path / "s.json"),
            endpoint,
            str(source),
        )
    assert code == 0, err
    upload_id = out.strip().rsplit("/", 1)[1]
    info = storage / f"{upload_id}.info"
    assert (storage / upload_id).read_bytes() == source.read_bytes()
    assert info.stat().st_mode & 0o777 == 0o644 & ~mask  # rewritten by each PATCH
