"""The sans-IO rules: plain synchronous tests, no event loop."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from tuskit_common import (
    BadRequest,
    Extension,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    OffsetMismatch,
    Resource,
    TooLarge,
    VersionUnsupported,
)
from tuskit_server import _concat_rules, _rules, _sanitise

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ALL = frozenset(Extension)


def upload(**kw: object) -> Resource:
    return Resource(id="x", created_at=NOW, **kw)


@pytest.mark.parametrize("module", [_rules, _sanitise])
def test_rules_do_no_io(module: ModuleType) -> None:
    """_rules imports neither aiohttp nor asyncio, reads no clock, makes no ids (style §2)."""
    assert module.__file__ is not None
    source = Path(module.__file__).read_text()
    tree = ast.parse(source)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {
        "re",
        "unicodedata",
        "collections",
        "dataclasses",
        "datetime",
        "urllib",
        "tuskit_common",
    }
    for banned in ("now()", "time.time", "secrets", "uuid"):
        assert banned not in source


@pytest.mark.parametrize("value", [None, "", "1.0", "0.2.2", "1.0.0,0.2.2"])
def test_version_rejected(value: str | None) -> None:
    with pytest.raises(VersionUnsupported):
        _rules.check_version(value)


def test_version_accepted() -> None:
    _rules.check_version("1.0.0")


@pytest.mark.parametrize(
    ("method", "override", "on_upload", "expected"),
    [
        ("POST", None, True, "POST"),
        ("POST", "patch", True, "PATCH"),
        ("POST", "DELETE", True, "DELETE"),
        ("POST", "HEAD", True, "HEAD"),
        ("POST", "PATCH", False, "POST"),
        ("PATCH", "DELETE", True, "PATCH"),
    ],
)
def test_effective_method(
    method: str, override: str | None, on_upload: bool, expected: str
) -> None:
    assert _rules.effective_method(method, override, on_upload=on_upload) == expected


@pytest.mark.parametrize("override", ["GET", "PUT", "OPTIONS", "POST"])
def test_override_refused(override: str) -> None:
    with pytest.raises(MethodNotAllowed):
        _rules.effective_method("POST", override, on_upload=True)


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"offset_header": None}, BadRequest),
        ({"offset_header": "2"}, OffsetMismatch),
        ({"length_header": "9"}, BadRequest),
        ({"content_length": 8}, TooLarge),
    ],
)
def test_plan_append_errors(kw: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, object] = {
        "offset_header": "3",
        "length_header": None,
        "content_length": None,
        "max_size": None,
    }
    args.update(kw)
    with pytest.raises(error):
        _rules.plan_append(upload(length=10, offset=3), **args)  # type: ignore[arg-type]


def test_plan_append() -> None:
    plan = _rules.plan_append(
        upload(length=10, offset=3),
        offset_header="3",
        length_header="10",
        content_length=7,
        max_size=None,
    )
    assert (plan.offset, plan.max_bytes, plan.declare_length) == (3, 7, None)
    deferred = _rules.plan_append(
        upload(offset=3), offset_header="3", length_header=None, content_length=None, max_size=8
    )
    assert deferred.max_bytes == 5
    declared = _rules.plan_append(
        upload(offset=3), offset_header="3", length_header="3", content_length=0, max_size=8
    )
    assert (declared.max_bytes, declared.declare_length) == (0, 3)


def test_plan_append_final_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        _rules.plan_append(
            upload(is_final=True, partial_ids=("a",)),
            offset_header="0",
            length_header=None,
            content_length=None,
            max_size=None,
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/files/abc", "abc"),
        ("https://elsewhere.example/files/abc", "abc"),
        ("/files/abc/", "abc"),
    ],
)
def test_partial_id(url: str, expected: str) -> None:
    got = _concat_rules.partial_id(url, request_url="http://h/files", collection_path="/files")
    assert got == expected


@pytest.mark.parametrize(
    "url", ["abc", "/files/a/b", "/files/..%2Fx", "/other/abc", "/files/", "/files/" + "x" * 129]
)
def test_partial_id_rejected(url: str) -> None:
    with pytest.raises(BadRequest, match="not an upload"):
        _concat_rules.partial_id(url, request_url="http://h/files", collection_path="/files")


@pytest.mark.parametrize("bad", ["", "..", "a.b", "a/b", "x" * 129, "é"])
def test_check_id(bad: str) -> None:
    with pytest.raises(NotFound):
        _rules.check_id(bad)


def test_head_headers_final_before_concatenation() -> None:
    final = upload(is_final=True, partial_ids=("a",), length=4, concat_header="final;/f/a")
    result = _rules.head_headers(final, now=NOW)
    assert "Upload-Offset" not in result
    assert result["Upload-Length"] == "4"
    assert "Upload-Defer-Length" not in result


def test_expiry_headers() -> None:
    live = upload(length=5, expires_at=NOW + timedelta(hours=1))
    assert _rules.expires_headers(live, now=NOW) == {
        "Upload-Expires": "Tue, 01 Jan 2030 01:00:00 GMT"
    }
    assert _rules.expires_headers(live, now=NOW + timedelta(hours=2)) == {}
    assert _rules.is_expired(live, NOW + timedelta(hours=2))
    done = upload(length=0, expires_at=NOW - timedelta(days=1))
    assert not _rules.is_expired(done, NOW)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"report.pdf", "report.pdf"),
        (b"../../x.txt", "x.txt"),
        (b"C:\\dir\\y.txt", "y.txt"),
        (b'a"b\r\nc', "abc"),
        (b"..", ""),
        (None, ""),
    ],
)
def test_safe_filename(raw: bytes | None, name: str) -> None:
    assert _sanitise.safe_filename(raw) == name


@pytest.mark.parametrize(
    ("forwarded", "xfh", "xfp", "expected"),
    [
        (None, None, None, ("http", "local:8080")),
        (None, "a.example", "https", ("https", "a.example")),
        (None, "a.example:443, proxy", "https", ("https", "a.example")),
        ({"host": "b.example:80", "proto": "http"}, "a.example", "https", ("http", "b.example")),
        (None, "bad host", "ftp", ("http", "local:8080")),
        (None, "[::1]:8443", "https", ("https", "[::1]:8443")),
    ],
)
def test_external_origin(
    forwarded: dict[str, str] | None, xfh: str | None, xfp: str | None, expected: tuple[str, str]
) -> None:
    got = _sanitise.external_origin(
        scheme="http",
        host="local:8080",
        forwarded=forwarded,
        forwarded_host=xfh,
        forwarded_proto=xfp,
    )
    assert got == expected


def test_options_headers() -> None:
    assert _rules.options_headers(extensions=(), max_size=None, algorithms=("sha1",)) == {
        "Tus-Version": "1.0.0"
    }
    full = _rules.options_headers(extensions=ALL, max_size=0, algorithms=("sha1", "md5"))
    assert full["Tus-Max-Size"] == "0"
    assert full["Tus-Checksum-Algorithm"] == "sha1,md5"
