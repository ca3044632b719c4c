"""Pure pieces of the commands: metadata and header options, metadata display."""

import asyncio
import logging
from datetime import UTC, datetime

import pytest
import typer
from yarl import URL

from tuskit_cli import _console, upload
from tuskit_cli._options import parse_headers
from tuskit_cli.metadata import format_json, format_lines
from tuskit_cli.upload import metadata_for, parse_metadata
from tuskit_client import MemoryStore, ResponseError, StoredUpload, UploadInfo


def test_parse_metadata() -> None:
    assert parse_metadata(["a=1", "flag", "empty=", "eq=x=y", "ü=ö"]) == {
        "a": b"1",
        "flag": None,
        "empty": b"",
        "eq": b"x=y",
        "ü": "ö".encode(),
    }
    assert parse_metadata(None) == {}
    with pytest.raises(typer.BadParameter, match="no key"):
        parse_metadata(["=value"])


def test_metadata_for_adds_filename_and_both_type_keys_unless_given() -> None:
    assert metadata_for("dir/photo.png", {}) == {
        "filename": b"photo.png",
        "filetype": b"image/png",
        "mime_type": b"image/png",  # what receivers written for aiotus read
    }
    assert metadata_for("x/noext", {}) == {"filename": b"noext"}
    given = {"filename": b"other", "filetype": b"text/plain"}
    assert metadata_for("a.png", given) == given
    assert metadata_for("a.png", {"mime_type": b"x/y"}) == {
        "mime_type": b"x/y",
        "filename": b"a.png",
    }
    assert metadata_for("-", {"k": None}) == {"k": None}


def test_parse_headers() -> None:
    assert parse_headers(["Authorization: Bearer x", "X-A:b:c", "Empty:"]) == {
        "Authorization": "Bearer x",
        "X-A": "b:c",
        "Empty": "",
    }
    for bad in ["NoColon", ": value", "Two Words: x"]:
        with pytest.raises(typer.BadParameter):
            parse_headers([bad])


def test_format_lines() -> None:
    assert format_lines(
        {"filename": "naïve.txt".encode(), "flag": None, "raw": b"\xff\x00", "ctl": b"a\x1bb"}
    ) == ["filename: naïve.txt", "flag", "raw (base64): /wA=", "ctl (base64): YRti"]


def test_format_json() -> None:
    info = UploadInfo(
        URL("http://h/files/abc"),
        3,
        10,
        datetime(2030, 1, 1, tzinfo=UTC),
        {"name": b"a", "flag": None, "raw": b"\xff"},
    )
    assert format_json(info) == (
        "{\n"
        '  "url": "http://h/files/abc",\n'
        '  "offset": 3,\n'
        '  "length": 10,\n'
        '  "complete": false,\n'
        '  "expires": "Tue, 01 Jan 2030 00:00:00 GMT",\n'
        '  "metadata": {\n'
        '    "name": "a",\n'
        '    "flag": null\n'
        "  },\n"
        '  "metadata_base64": {\n'
        '    "raw": "/w=="\n'
        "  }\n"
        "}"
    )


def test_a_response_error_is_described_by_its_own_line() -> None:
    # ResponseError is also an aiohttp.ClientResponseError; its message already says it all.
    error = ResponseError(
        "PATCH http://h/f/1 answered 503 Service Unavailable",
        status=503,
        headers={},
        method="PATCH",
        url="http://h/f/1",
    )
    assert _console.describe(error) == "PATCH http://h/f/1 answered 503 Service Unavailable"


def test_without_verbose_library_warnings_print_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as outside pytest
    names = ("tuskit_client", "asyncio")
    try:
        _console.setup_logging(False)
        for name in names:  # Python's last-resort handler would print these on stderr
            logging.getLogger(name).error("Task exception was never retrieved")
        assert capsys.readouterr().err == ""
    finally:
        for name in names:
            logging.getLogger(name).handlers.clear()


def test_after_ctrl_c_each_upload_says_where_it_is() -> None:
    async def scenario() -> list[str]:
        watched = upload.WatchedStore(MemoryStore())
        for name, stored in [
            ("a.bin", StoredUpload("http://h/files/1", 10)),
            ("p.bin", StoredUpload(None, 10, ("http://h/files/2", None))),
            ("c.bin", StoredUpload("http://h/files/3", 10)),
            ("gone.bin", StoredUpload("http://h/files/4", 10)),
        ]:
            upload._current.set(name)  # as each file's upload task does
            await watched.save(name, stored)
        await watched.remove("gone.bin")  # the client dropped it (the server forgot it)
        files = ["a.bin", "p.bin", "c.bin", "gone.bin", "never.bin"]
        return watched.interrupted(files, {"c.bin": "http://h/files/3"})

    resume = "run the same tus upload again to resume it"
    assert asyncio.run(scenario()) == [
        f"interrupted: a.bin is unfinished at http://h/files/1; {resume}",
        f"interrupted: p.bin is unfinished at parts http://h/files/2; {resume}",
        "interrupted: c.bin is complete at http://h/files/3",
    ]
