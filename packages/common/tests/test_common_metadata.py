"""The Upload-Metadata codec: spec examples, every strict-parsing rejection, and properties."""

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuskit_common import MetadataError, decode_metadata, encode_metadata

SPEC_EXAMPLE = "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential"


def test_spec_example_decodes() -> None:
    assert decode_metadata(SPEC_EXAMPLE) == {
        "filename": b"world_domination_plan.pdf",
        "is_confidential": None,
    }


def test_spec_example_encodes_back_exactly() -> None:
    assert (
        encode_metadata({"filename": b"world_domination_plan.pdf", "is_confidential": None})
        == SPEC_EXAMPLE
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        ("   ", {}),
        ("a", {"a": None}),
        ("a ", {"a": None}),
        ("a YQ==", {"a": b"a"}),
        ("a YQ==, b YmI=", {"a": b"a", "b": b"bb"}),
        ("a YQ==,,b", {"a": b"a", "b": None}),
        (" a YQ== ,\tb\t", {"a": b"a", "b": None}),
        ("k /w==", {"k": b"\xff"}),  # values are bytes, not necessarily UTF-8
        ("A, a YQ==", {"A": None, "a": b"a"}),  # keys are case-sensitive
        ("k!#$%&'*+-.^_`|~ YQ==", {"k!#$%&'*+-.^_`|~": b"a"}),
    ],
)
def test_valid_headers(header: str | None, expected: dict[str, bytes | None]) -> None:
    assert decode_metadata(header) == expected


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("a  YQ==", "more than one space"),
        ("a YQ== b", "more than one space"),
        ("a YQ", "not valid base64"),
        ("a YQ=", "not valid base64"),
        ("a Y===", "not valid base64"),
        ("a YQ==\x00", "not valid base64"),
        ("a ====", "not valid base64"),
        ("a YQ-_", "not valid base64"),
        ("a,a", "duplicate key"),
        ("a YQ==,a YmI=", "duplicate key"),
        ("fïle YQ==", "non-ASCII"),
        ("a\x01 YQ==", "control character"),
        ("a\x7f", "control character"),
    ],
)
def test_invalid_headers_name_the_pair(header: str, fragment: str) -> None:
    with pytest.raises(MetadataError, match=fragment) as info:
        decode_metadata(header)
    assert info.value.status == 400
    assert info.value.code == "invalid_metadata"


def test_the_message_quotes_the_bad_pair() -> None:
    with pytest.raises(MetadataError) as info:
        decode_metadata("good YQ==,bad value!")
    assert "'bad value!'" in str(info.value)


def test_metadata_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        decode_metadata("a,a")


def test_size_cap_default_and_configurable() -> None:
    big = "k " + base64.b64encode(b"x" * 4000).decode()
    assert len(big) > 4096
    with pytest.raises(MetadataError, match="larger than 4096"):
        decode_metadata(big)
    assert decode_metadata(big, max_size=None) == {"k": b"x" * 4000}
    with pytest.raises(MetadataError, match="larger than 10"):
        decode_metadata("key YWJjZGVm", max_size=10)


def test_pair_count_cap() -> None:
    header = ",".join(f"k{i}" for i in range(5))
    assert len(decode_metadata(header, max_pairs=5)) == 5
    with pytest.raises(MetadataError, match="more than 4 pairs"):
        decode_metadata(header, max_pairs=4)


@pytest.mark.parametrize("key", ["", "a b", "a,b", "ä", "a\nb", "\x00"])
def test_encode_rejects_bad_keys(key: str) -> None:
    with pytest.raises(MetadataError):
        encode_metadata({key: b"v"})


def test_encode_rejects_non_bytes_values() -> None:
    with pytest.raises(TypeError, match="must be bytes or None"):
        encode_metadata({"k": "text"})  # type: ignore[dict-item]


def test_encode_accepts_bytes_like_and_maps_empty_to_key_only() -> None:
    mixed = {"a": bytearray(b"a"), "b": memoryview(b"bb"), "c": b""}
    header = encode_metadata(mixed)  # type: ignore[arg-type]
    assert header == "a YQ==,b YmI=,c"
    assert decode_metadata(header) == {"a": b"a", "b": b"bb", "c": None}


def test_encode_size_cap() -> None:
    with pytest.raises(MetadataError, match="larger than 5"):
        encode_metadata({"key": b"value"}, max_size=5)


def test_empty_mapping_encodes_to_empty_string() -> None:
    assert encode_metadata({}) == ""


KEYS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=","),
    min_size=1,
    max_size=20,
)
VALUES = st.one_of(st.none(), st.binary(min_size=1, max_size=64))


@given(st.dictionaries(KEYS, VALUES, max_size=12))
def test_encode_then_decode_is_identity(metadata: dict[str, bytes | None]) -> None:
    assert decode_metadata(encode_metadata(metadata), max_size=None) == metadata


@given(st.dictionaries(KEYS, VALUES, max_size=12))
def test_decode_then_encode_reproduces_a_canonical_header(
    metadata: dict[str, bytes | None],
) -> None:
    header = encode_metadata(metadata)
    assert encode_metadata(decode_metadata(header, max_size=None)) == header


@given(st.text(max_size=200))
def test_arbitrary_text_decodes_or_raises_metadata_error(text: str) -> None:
    try:
        result = decode_metadata(text)
    except MetadataError:
        return
    assert all(isinstance(v, bytes | None) for v in result.values())


@given(st.text(alphabet=" ,abAB=+/\t0", max_size=60))
def test_protocol_alphabet_decodes_or_raises_metadata_error(text: str) -> None:
    with contextlib.suppress(MetadataError):
        decode_metadata(text)
