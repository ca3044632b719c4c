"""Single header values: integers, defer length, Upload-Concat, Upload-Checksum, lists, dates."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuskit_common import InvalidHeader
from tuskit_common.values import (
    Checksum,
    Concat,
    format_checksum,
    format_concat,
    format_http_date,
    format_list,
    format_uint,
    parse_algorithms,
    parse_checksum,
    parse_concat,
    parse_defer_length,
    parse_http_date,
    parse_length,
    parse_list,
    parse_offset,
    parse_uint,
)


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("7", 7), ("0012", 12), ("9" * 19, int("9" * 19))]
)
def test_uint_accepts_plain_digits(text: str, value: int) -> None:
    assert parse_offset(text) == value
    assert parse_length(text) == value


@pytest.mark.parametrize(
    "text",
    ["", " ", "+1", "-1", " 1", "1 ", "1 0", "1.0", "1e3", "0x10", "1" * 20, "١", "½", "1_000"],
)
def test_uint_rejects_everything_else(text: str) -> None:
    with pytest.raises(InvalidHeader, match="Upload-Offset must be a non-negative integer") as info:
        parse_offset(text)
    assert info.value.status == 400
    assert info.value.code == "invalid_upload_offset"


def test_uint_missing_names_the_header() -> None:
    with pytest.raises(InvalidHeader, match="Upload-Length header is missing") as info:
        parse_length(None)
    assert info.value.code == "missing_upload_length"


@given(st.integers(min_value=0, max_value=10**19 - 1))
def test_uint_round_trip(value: int) -> None:
    assert parse_uint(format_uint(value), "X") == value


def test_format_uint_rejects_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        format_uint(-1)


def test_defer_length_only_one() -> None:
    assert parse_defer_length("1") is True
    for bad in ("0", "true", "", " 1", "2"):
        with pytest.raises(InvalidHeader, match="Upload-Defer-Length must be 1"):
            parse_defer_length(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("partial", Concat("partial")),
        ("final;/files/a /files/b", Concat("final", ("/files/a", "/files/b"))),
        ("final; /files/a  /files/b ", Concat("final", ("/files/a", "/files/b"))),
        ("final;http://h/f/a", Concat("final", ("http://h/f/a",))),
        ("final;/f/a /f/a", Concat("final", ("/f/a", "/f/a"))),  # a partial may repeat
    ],
)
def test_concat_parses(text: str, expected: Concat) -> None:
    assert parse_concat(text) == expected


@pytest.mark.parametrize(
    "text", ["", "Partial", "final", "final;", "final;  ", "whole;/a", "partial;x"]
)
def test_concat_rejects(text: str) -> None:
    with pytest.raises(InvalidHeader, match="Upload-Concat"):
        parse_concat(text)


def test_concat_format_round_trip() -> None:
    final = Concat("final", ("/f/a", "https://h/f/b"))
    assert format_concat(final) == "final;/f/a https://h/f/b"
    assert parse_concat(format_concat(final)) == final
    assert format_concat(Concat("partial")) == "partial"
    assert final.is_final
    assert not final.is_partial
    with pytest.raises(ValueError, match="URLs"):
        format_concat(Concat("final", ("a b",)))
    with pytest.raises(ValueError, match="URLs"):
        format_concat(Concat("final"))


def test_checksum_parses_and_formats() -> None:
    parsed = parse_checksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")
    assert parsed == Checksum("sha1", bytes.fromhex("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"))
    assert format_checksum(parsed) == "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha1",
        "sha1  Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
        "sha1 Kq5s NclP",
        "SHA1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
        "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0",
        "sha1 !!!!",
        "sha1 ",
        "shä1 YQ==",
    ],
)
def test_checksum_rejects(text: str) -> None:
    with pytest.raises(InvalidHeader, match="Upload-Checksum") as info:
        parse_checksum(text)
    assert info.value.code == "invalid_checksum"


def test_lists() -> None:
    assert parse_list("1.0.0, 0.2.2 ,,0.2.1") == ("1.0.0", "0.2.2", "0.2.1")
    assert parse_list(None) == ()
    assert parse_list("") == ()
    assert parse_algorithms("sha1,MD5, crc32") == ("sha1", "md5", "crc32")
    assert format_list(["sha1", "md5"]) == "sha1,md5"


def test_http_date_spec_example() -> None:
    moment = parse_http_date("Wed, 25 Jun 2014 16:00:00 GMT")
    assert moment == datetime(2014, 6, 25, 16, 0, tzinfo=UTC)
    assert format_http_date(moment) == "Wed, 25 Jun 2014 16:00:00 GMT"


def test_http_date_converts_to_gmt_and_drops_microseconds() -> None:
    moment = datetime(2030, 1, 2, 5, 4, 3, 999, tzinfo=timezone(timedelta(hours=2)))
    assert format_http_date(moment) == "Wed, 02 Jan 2030 03:04:03 GMT"


def test_http_date_errors() -> None:
    with pytest.raises(InvalidHeader, match="not an HTTP date"):
        parse_http_date("tomorrow")
    with pytest.raises(ValueError, match="aware"):
        format_http_date(datetime(2030, 1, 1))  # naive on purpose


@given(
    st.datetimes(
        timezones=st.just(UTC), min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1)
    )
)
def test_http_date_round_trip(moment: datetime) -> None:
    assert parse_http_date(format_http_date(moment)) == moment.replace(microsecond=0)
