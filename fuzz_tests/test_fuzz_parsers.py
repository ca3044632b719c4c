"""Hypothesis over every header parser and the metadata codec: whatever text arrives, only
the project's own errors (:class:`tuskit_common.TusError`) may come out, and what the
formatters write parses back to the same value.

Run by ``nox -s fuzz`` (not part of the unit sessions: the example counts are larger).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuskit_common import (
    Concat,
    Extension,
    Resource,
    TusError,
    decode_metadata,
    encode_metadata,
    headers,
)
from tuskit_common.extensions import format_extensions, parse_extensions
from tuskit_common.values import (
    format_concat,
    format_http_date,
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
from tuskit_server import _concat_rules, _input_rules, _rules
from tuskit_server._sanitise import external_origin, safe_filename

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Header text as it may arrive: any code point aiohttp hands on (latin-1 decoded bytes),
#: with the characters the grammars care about drawn often.
_SPECIAL = st.sampled_from([*list(" ,;=\t\"'/:0123456789+-.%"), "final", "partial", "sha1"])
header_text = st.one_of(
    st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=200),
    st.lists(st.one_of(_SPECIAL, st.text(max_size=5)), max_size=30).map("".join),
    st.integers().map(str),
)


def only_own_errors(parse: Callable[[Any], object], value: object) -> None:
    with contextlib.suppress(TusError):
        parse(value)


@FUZZ
@given(header_text)
def test_number_and_flag_parsers(value: str) -> None:
    only_own_errors(lambda v: parse_uint(v, "Upload-Length"), value)
    only_own_errors(parse_offset, value)
    only_own_errors(parse_length, value)
    only_own_errors(parse_defer_length, value)
    only_own_errors(_rules.parse_offset_header, value)
    only_own_errors(_rules.parse_content_length, value)


@FUZZ
@given(header_text)
def test_structured_header_parsers(value: str) -> None:
    only_own_errors(parse_checksum, value)
    only_own_errors(parse_concat, value)
    only_own_errors(parse_list, value)
    only_own_errors(parse_algorithms, value)
    only_own_errors(parse_http_date, value)
    only_own_errors(parse_extensions, value)
    only_own_errors(lambda v: _rules.parse_checksum_header(v, ("sha1", "md5", "crc32")), value)
    only_own_errors(_rules.check_version, value)
    only_own_errors(_rules.check_media_type, value)
    only_own_errors(_rules.check_id, value)
    only_own_errors(_input_rules.check_content_coding, value)
    only_own_errors(lambda v: _rules.effective_method("POST", v, on_upload=True), value)
    only_own_errors(
        lambda v: _concat_rules.partial_id(
            v, request_url="http://h/files/", collection_path="/files"
        ),
        value,
    )


@FUZZ
@given(header_text, st.lists(header_text, min_size=2, max_size=4))
def test_repeated_header_folding(name_seed: str, values: list[str]) -> None:
    names = _input_rules.SINGLE_HEADERS + _input_rules.LIST_HEADERS
    name = names[len(name_seed) % len(names)]
    only_own_errors(lambda v: _input_rules.fold_header(name, v), values)
    only_own_errors(lambda v: _input_rules.check_partial_list(v, limit=3), values)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            [
                headers.UPLOAD_LENGTH,
                headers.UPLOAD_DEFER_LENGTH,
                headers.UPLOAD_METADATA,
                headers.UPLOAD_CONCAT,
                headers.UPLOAD_OFFSET,
            ]
        ),
        header_text,
    ),
    st.one_of(st.none(), st.integers(min_value=0, max_value=1 << 40)),
)
def test_creation_and_append_plans(request_headers: dict[str, str], length: int | None) -> None:
    only_own_errors(
        lambda h: _rules.plan_creation(
            h, extensions=frozenset(Extension), max_size=1 << 30, metadata_limit=4096
        ),
        request_headers,
    )
    resource = Resource(id="abc", length=length, offset=0, created_at=datetime.now(UTC))
    only_own_errors(
        lambda h: _rules.plan_append(
            resource,
            offset_header=h.get(headers.UPLOAD_OFFSET),
            length_header=h.get(headers.UPLOAD_LENGTH),
            content_length=None,
            max_size=1 << 30,
        ),
        request_headers,
    )


@FUZZ
@given(header_text, header_text, header_text)
def test_proxy_headers_never_fail(forwarded_host: str, proto: str, host: str) -> None:
    scheme, origin = external_origin(
        scheme="http",
        host="127.0.0.1:1080",
        forwarded={"host": host, "proto": proto},
        forwarded_host=forwarded_host,
        forwarded_proto=proto,
    )
    assert scheme in ("http", "https")
    assert "\r" not in origin
    assert "\n" not in origin


@FUZZ
@given(st.binary(max_size=300))
def test_download_filenames_are_safe(raw: bytes) -> None:
    name = safe_filename(raw)
    assert "/" not in name
    assert "\\" not in name
    assert "\0" not in name


@FUZZ
@given(header_text)
def test_metadata_decoder(value: str) -> None:
    only_own_errors(decode_metadata, value)


metadata_keys = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=","),
    min_size=1,
    max_size=20,
)


@FUZZ
@given(
    st.dictionaries(
        metadata_keys, st.one_of(st.none(), st.binary(min_size=1, max_size=100)), max_size=20
    )
)
def test_metadata_round_trip(metadata: dict[str, bytes | None]) -> None:
    # (an empty value is written as a key alone, and reads back as None: spec §1.3)
    assert decode_metadata(encode_metadata(metadata), max_size=None) == metadata


@FUZZ
@given(st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_numbers_round_trip(value: int) -> None:
    assert parse_uint(format_uint(value), "Upload-Offset") == value


@FUZZ
@given(st.lists(st.from_regex(r"/files/[A-Za-z0-9_-]{1,20}", fullmatch=True), min_size=1))
def test_concat_round_trip(urls: list[str]) -> None:
    concat = Concat("final", tuple(urls))
    assert parse_concat(format_concat(concat)) == concat


@FUZZ
@given(st.datetimes(min_value=datetime(1970, 1, 2), timezones=st.just(UTC)))
def test_http_dates_round_trip(moment: datetime) -> None:
    assert parse_http_date(format_http_date(moment)) == moment.replace(microsecond=0)


@FUZZ
@given(st.sets(st.sampled_from(list(Extension))))
def test_extensions_round_trip(extensions: set[Extension]) -> None:
    assert parse_extensions(format_extensions(extensions)) == extensions
