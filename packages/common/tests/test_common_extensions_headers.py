"""Extension names and header constants, checked against the spec's own spelling."""

from tuskit_common import Extension, format_extensions, headers, parse_extensions


def test_the_nine_extensions() -> None:
    assert [e.value for e in Extension] == [
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "expiration",
        "checksum",
        "checksum-trailer",
        "termination",
        "concatenation",
        "concatenation-unfinished",
    ]


def test_parse_ignores_unknown_and_whitespace() -> None:
    assert parse_extensions(" creation , file-check,termination,,") == {
        Extension.CREATION,
        Extension.TERMINATION,
    }
    assert parse_extensions(None) == frozenset()
    assert parse_extensions("") == frozenset()


def test_format_is_canonical_and_round_trips() -> None:
    chosen = {Extension.TERMINATION, Extension.CREATION, Extension.CHECKSUM}
    text = format_extensions(chosen)
    assert text == "creation,checksum,termination"
    assert parse_extensions(text) == chosen


def test_header_constants_spell_the_spec() -> None:
    assert headers.PROTOCOL_VERSION == "1.0.0"
    assert headers.OFFSET_OCTET_STREAM == "application/offset+octet-stream"
    expected = {
        "TUS_RESUMABLE": "Tus-Resumable",
        "TUS_VERSION": "Tus-Version",
        "TUS_EXTENSION": "Tus-Extension",
        "TUS_MAX_SIZE": "Tus-Max-Size",
        "TUS_CHECKSUM_ALGORITHM": "Tus-Checksum-Algorithm",
        "UPLOAD_OFFSET": "Upload-Offset",
        "UPLOAD_LENGTH": "Upload-Length",
        "UPLOAD_DEFER_LENGTH": "Upload-Defer-Length",
        "UPLOAD_METADATA": "Upload-Metadata",
        "UPLOAD_CONCAT": "Upload-Concat",
        "UPLOAD_EXPIRES": "Upload-Expires",
        "UPLOAD_CHECKSUM": "Upload-Checksum",
        "X_HTTP_METHOD_OVERRIDE": "X-HTTP-Method-Override",
    }
    for name, spelling in expected.items():
        assert getattr(headers, name) == spelling


def test_cors_lists_cover_every_tus_header() -> None:
    assert "Upload-Expires" in headers.RESPONSE_HEADERS
    assert "Location" in headers.RESPONSE_HEADERS
    for name in ("Upload-Offset", "Upload-Length", "Upload-Metadata", "Tus-Resumable"):
        assert name in headers.REQUEST_HEADERS
        assert name in headers.RESPONSE_HEADERS
