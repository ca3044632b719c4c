"""The IETF draft vocabulary: versions, structured-field codecs, Upload-Limit, problem bodies."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuskit_common import InvalidHeader
from tuskit_common.ietf_draft import (
    COMPLETED_UPLOAD,
    LATEST,
    MISMATCHING_OFFSET,
    UPLOAD_COMPLETE,
    UPLOAD_INCOMPLETE,
    VERSIONS,
    Problem,
    UploadLimit,
    format_boolean,
    format_integer,
    format_upload_limit,
    parse_boolean,
    parse_integer,
    parse_upload_limit,
    version_for,
)


def test_versions_are_the_ones_tusd_and_tus_js_client_speak_plus_the_latest() -> None:
    assert [version.interop for version in VERSIONS] == [3, 4, 5, 6, 7, 8]
    assert LATEST.interop == 8
    assert version_for("5") is VERSIONS[2]
    assert version_for(None) is None


@pytest.mark.parametrize("text", ["2", "9", "x", "", "-6", "6.0"])
def test_unknown_or_malformed_interop_version_is_a_clear_error(text: str) -> None:
    with pytest.raises(InvalidHeader, match="Upload-Draft-Interop-Version"):
        version_for(text)


def test_draft_01_inverts_completeness_through_upload_incomplete() -> None:
    draft01, draft02 = VERSIONS[0], VERSIONS[1]
    assert draft01.format_complete(True) == (UPLOAD_INCOMPLETE, "?0")
    assert draft01.parse_complete("?1") is False
    assert draft02.format_complete(True) == (UPLOAD_COMPLETE, "?1")
    assert draft02.parse_complete("?0") is False
    assert draft02.parse_complete(None) is None


@pytest.mark.parametrize(
    ("text", "flag"), [("?1", True), ("?0", False), (" ?1 ", True), ("?0;a=1", False)]
)
def test_boolean_parses_items_and_ignores_parameters(text: str, flag: bool) -> None:
    assert parse_boolean(text, "Upload-Complete") is flag


@pytest.mark.parametrize("text", ["1", "true", "?", "?2", "?1?0", "", "?1,?0"])
def test_boolean_rejects_other_values_naming_the_header(text: str) -> None:
    with pytest.raises(InvalidHeader, match="Upload-Complete"):
        parse_boolean(text, "Upload-Complete")


@given(st.booleans())
def test_boolean_round_trips(flag: bool) -> None:
    assert parse_boolean(format_boolean(flag), "X") is flag


@pytest.mark.parametrize("text", ["-1", "1" * 16, "1.5", "", "?1", "0x1"])
def test_integer_rejects_negative_long_and_non_integers(text: str) -> None:
    with pytest.raises(InvalidHeader, match="Upload-Offset"):
        parse_integer(text, "Upload-Offset")


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_integer_round_trips(number: int) -> None:
    assert parse_integer(format_integer(number), "Upload-Offset") == number


def test_integer_formatting_refuses_what_the_field_cannot_carry() -> None:
    with pytest.raises(ValueError, match="0 to"):
        format_integer(10**15)


def test_upload_limit_parses_known_keys_and_ignores_unknown_ones() -> None:
    limit = parse_upload_limit("max-size=1000, min-append-size=10;x=1, future=?1, max-age=60")
    assert limit == UploadLimit(max_size=1000, min_append_size=10, max_age=60)


def test_upload_limit_uses_expires_for_interop_version_6() -> None:
    v6 = VERSIONS[3]
    limit = UploadLimit(max_size=5, max_age=30)
    assert format_upload_limit(limit, v6) == "max-size=5, expires=30"
    assert parse_upload_limit("max-size=5, expires=30, max-age=1", v6) == limit
    assert format_upload_limit(limit) == "max-size=5, max-age=30"


@pytest.mark.parametrize("text", ["max-size", "max-size=?1", "max-size=-1", "Max-Size=1", "=1"])
def test_upload_limit_with_a_known_key_of_wrong_type_is_an_error(text: str) -> None:
    with pytest.raises(InvalidHeader, match="Upload-Limit"):
        parse_upload_limit(text)


@given(
    st.builds(
        UploadLimit,
        *[st.none() | st.integers(min_value=0, max_value=10**15 - 1) for _ in range(5)],
    )
)
def test_upload_limit_round_trips(limit: UploadLimit) -> None:
    text = format_upload_limit(limit)
    assert (text == "") is limit.empty
    if text:
        assert parse_upload_limit(text) == limit


def test_problem_body_carries_the_offset_members() -> None:
    problem = Problem(MISMATCHING_OFFSET, "offset mismatch", expected_offset=5, provided_offset=9)
    body = json.loads(problem.to_json())
    assert body == {
        "type": MISMATCHING_OFFSET,
        "title": "offset mismatch",
        "expected-offset": 5,
        "provided-offset": 9,
    }
    assert Problem.from_json(problem.to_json()) == problem


def test_problem_parsing_tolerates_other_bodies() -> None:
    assert Problem.from_json(b"not json") is None
    assert Problem.from_json(b'{"title": "no type"}') is None
    assert Problem.from_json(b"[1]") is None
    odd = Problem.from_json(b'{"type": "%s", "expected-offset": true}' % COMPLETED_UPLOAD.encode())
    assert odd == Problem(COMPLETED_UPLOAD, "")


@given(st.text(max_size=60))
def test_parsers_answer_any_text_with_a_value_or_invalid_header(text: str) -> None:
    messages = []
    for parse in (
        lambda: parse_boolean(text, "X"),
        lambda: parse_integer(text, "X"),
        lambda: parse_upload_limit(text),
        lambda: version_for(text),
        lambda: Problem.from_json(text.encode()),
    ):
        try:
            parse()
        except InvalidHeader as exc:
            messages.append(exc.message)
    assert all(messages)
