"""The draft's header fields, metadata mapping and problem-details lines, as pure functions."""

import pytest

from tuskit_client import Client
from tuskit_client._draft_fields import (
    accepts_partial_upload,
    completeness,
    draft_version,
    read_integer,
    read_limits,
)
from tuskit_client._draft_steps import DraftWire, draft_metadata
from tuskit_client._problem import describe_body
from tuskit_common import encode_metadata
from tuskit_common.ietf_draft import UploadLimit


@pytest.mark.parametrize(
    ("value", "expected"),
    [("25", 25), (" 7;x=1 ", 7), ("-1", None), ("1.5", None), ("", None), (None, None)],
)
def test_integers_that_are_not_non_negative_sf_integers_are_ignored(
    value: str | None, expected: int | None
) -> None:
    assert read_integer(value, "Upload-Offset") == expected


@pytest.mark.parametrize(
    ("version", "fields", "expected"),
    [
        (8, {"Upload-Complete": "?1"}, True),
        (8, {"Upload-Complete": "?0;a"}, False),
        (8, {"Upload-Complete": "1"}, None),
        (8, {"Upload-Incomplete": "?0"}, None),
        (3, {"Upload-Incomplete": "?0"}, True),
        (3, {"Upload-Complete": "?1"}, None),
    ],
)
def test_completeness_in_each_spelling(
    version: int, fields: dict[str, str], expected: bool | None
) -> None:
    assert completeness(fields, draft_version(version)) == expected


def test_upload_limit_keeps_known_integers_and_skips_unknown_keys() -> None:
    limits = read_limits("min-size=0, max-size=100, x-new=?1, max-age=60", draft_version(8))
    assert limits == UploadLimit(max_size=100, min_size=0, max_age=60)
    # Interop version 6 (drafts -04, -05) called the lifetime "expires".
    assert read_limits("expires=60", draft_version(6)) == UploadLimit(max_age=60)


@pytest.mark.parametrize("value", ["max-size=big", "max-size=-1", "max-size", "Max=1", "a,,b"])
def test_a_malformed_upload_limit_is_ignored_whole(value: str) -> None:
    assert read_limits(value, draft_version(8)) is None


def test_accept_patch_must_name_the_full_partial_upload_type() -> None:
    assert accepts_partial_upload("application/json, application/partial-upload;q=1")
    assert not accepts_partial_upload("*/*")
    assert not accepts_partial_upload(None)


def test_metadata_becomes_content_disposition_and_content_type() -> None:
    header = encode_metadata({"filename": 'Zürich "1".txt'.encode(), "filetype": b"text/plain"})
    fields, left = draft_metadata(header)
    assert left == []
    assert fields["Content-Type"] == "text/plain"
    assert fields["Content-Disposition"] == (
        'inline; filename="Z?rich \\"1\\".txt"; filename*=UTF-8\'\'Z%C3%BCrich%20%221%22.txt'
    )


def test_metadata_the_draft_cannot_carry_is_named() -> None:
    header = encode_metadata({"note": b"x", "filetype": b"a/b", "mime_type": b"c/d"})
    _, left = draft_metadata(header)
    assert left == ["note", "filetype (not one media type)"]
    _, left = draft_metadata(encode_metadata({"filetype": b"not a type"}))
    assert left == ["filetype (not one media type)"]


def test_problem_details_and_plain_bodies_as_one_line() -> None:
    problem = '{"title": "upload is already completed", "type": "x#completed-upload"}'
    assert describe_body(problem, "application/problem+json; charset=utf-8") == (
        "upload is already completed (completed-upload)"
    )
    assert describe_body('{"title": "cut', "application/problem+json") == '{"title": "cut'
    assert describe_body("a\n  b", "text/plain") == "a b"


def test_unknown_protocols_and_versions_are_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="'tus', 'ietf-draft', 'auto'"):
        Client("http://h/files/", protocol="tus2")
    with pytest.raises(ValueError, match="interop version 9"):
        Client("http://h/files/", protocol="ietf-draft", draft_version=9)
    assert DraftWire(6).name == "IETF draft (interop version 6)"
