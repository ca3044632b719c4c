"""The pure protocol steps: request heads, answer checks, Location resolution."""

import itertools

import pytest
from multidict import CIMultiDict
from yarl import URL

from tuskit_client import ProtocolError, ResponseError, UploadNotFound
from tuskit_client._steps import (
    ResponseHead,
    append_request,
    checksum_header,
    creation_request,
    final_concat,
    offset_request,
    options_request,
    read_append,
    read_creation,
    read_metadata,
    read_offset,
    read_options,
    resolve_location,
    split_ranges,
    termination_request,
)

BASE = URL("https://h/files/")


def answer(status: int, url: URL = BASE, body: str = "", **headers: str) -> ResponseHead:
    fixed = CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()})
    return ResponseHead(status, fixed, url, "", body)


@pytest.mark.parametrize(
    ("base", "location", "expected"),
    [
        ("https://h/files/", "https://o/x/1", "https://o/x/1"),
        ("https://h/files/", "//o/x/1", "https://o/x/1"),
        ("https://h/files/", "/up/1", "https://h/up/1"),
        ("https://h/files/", "1", "https://h/files/1"),
        ("https://h/files/", "./1", "https://h/files/1"),
        ("https://h/files", "./1", "https://h/1"),
        ("https://h/files", "../1", "https://h/1"),
        ("https://h/files", "/up/1", "https://h/up/1"),
        ("https://h/files", "https://o/x/1", "https://o/x/1"),
    ],
)
def test_location_resolves_per_rfc_3986(base: str, location: str, expected: str) -> None:
    assert resolve_location(URL(base), location) == URL(expected)


@pytest.mark.parametrize(
    ("base", "location", "expected"),
    [
        ("https://h/files", "1", "https://h/files/1"),
        ("https://h/files", "a/1", "https://h/files/a/1"),
        ("https://h/files?x=1", "1?y=2", "https://h/files/1?y=2"),
        ("https://h", "1", "https://h/1"),
    ],
)
def test_a_bare_name_from_an_endpoint_without_a_slash_is_its_child(
    base: str, location: str, expected: str
) -> None:
    # RFC 3986 would give https://h/1 (a 404 on such servers); aiotus joins, and so do we.
    assert resolve_location(URL(base), location) == URL(expected)


def test_creation_with_length_and_metadata() -> None:
    head = creation_request(BASE, length=10, metadata_header="a YQ==", extra={"X-A": "1"})
    assert head.method == "POST"
    assert head.headers == {
        "X-A": "1",
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "10",
        "Upload-Metadata": "a YQ==",
    }


def test_creation_deferred_and_final() -> None:
    deferred = creation_request(BASE, length=None)
    assert deferred.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in deferred.headers
    final = creation_request(BASE, length=None, concat="final;https://h/files/1")
    assert "Upload-Defer-Length" not in final.headers
    assert "Upload-Length" not in final.headers
    assert final.headers["Upload-Concat"] == "final;https://h/files/1"


def test_creation_with_body_sets_media_type_and_checksum() -> None:
    head = creation_request(BASE, length=3, body_length=3, checksum="sha1 abc=")
    assert head.headers["Content-Type"] == "application/offset+octet-stream"
    assert head.headers["Content-Length"] == "3"
    assert head.headers["Upload-Checksum"] == "sha1 abc="


def test_tus_headers_win_over_callers_case_insensitively() -> None:
    head = offset_request(BASE, {"tus-resumable": "0.2", "Authorization": "x"})
    assert head.headers == {"Authorization": "x", "Tus-Resumable": "1.0.0"}


def test_options_sends_no_tus_resumable() -> None:
    assert "Tus-Resumable" not in options_request(BASE).headers


def test_read_options() -> None:
    caps = read_options(
        answer(
            200,
            Tus_Version="1.0.0",
            Tus_Extension="creation,checksum",
            Tus_Max_Size="100",
            Tus_Checksum_Algorithm="sha1,SHA256",
        )
    )
    assert caps.max_size == 100
    assert caps.checksum_algorithms == ("sha1", "sha256")
    assert {e.value for e in caps.extensions} == {"creation", "checksum"}
    with pytest.raises(ProtocolError, match="Tus-Version"):
        read_options(answer(200))
    with pytest.raises(ResponseError):
        read_options(answer(405))


def test_read_creation() -> None:
    created = read_creation(
        answer(201, Location="/up/7", Upload_Expires="Wed, 25 Jun 2031 16:00:00 GMT")
    )
    assert created.location == URL("https://h/up/7")
    assert created.expires is not None
    assert created.expires.year == 2031
    assert created.offset is None
    with pytest.raises(ProtocolError, match="Location"):
        read_creation(answer(201))
    with_body = read_creation(answer(201, Location="7", Upload_Offset="3"), sent_body=5)
    assert with_body.offset == 3
    with pytest.raises(ProtocolError):
        read_creation(answer(201, Location="7", Upload_Offset="6"), sent_body=5)
    with pytest.raises(ResponseError) as info:
        read_creation(answer(200, Location="7"))
    assert info.value.status == 200


def test_read_offset() -> None:
    status = read_offset(
        answer(200, Upload_Offset="4", Upload_Length="9", Upload_Metadata="k dg==,n"), BASE
    )
    assert (status.offset, status.length) == (4, 9)
    assert read_metadata(status) == {"k": b"v", "n": None}
    deferred = read_offset(answer(204, Upload_Offset="4", Upload_Defer_Length="1"), BASE)
    assert deferred.length is None
    with pytest.raises(UploadNotFound):
        read_offset(answer(404), BASE)
    with pytest.raises(UploadNotFound):
        read_offset(answer(410), BASE)
    with pytest.raises(ProtocolError, match="Upload-Offset"):
        read_offset(answer(200), BASE)
    with pytest.raises(ProtocolError):
        read_offset(answer(200, Upload_Offset="10", Upload_Length="9"), BASE)
    with pytest.raises(ProtocolError):
        read_metadata(read_offset(answer(200, Upload_Offset="0", Upload_Metadata="k !!"), BASE))


def test_append_request_and_answer() -> None:
    head = append_request(BASE, offset=5, body_length=3, declare_length=8, checksum="md5 x")
    assert head.method == "PATCH"
    assert head.headers["Upload-Offset"] == "5"
    assert head.headers["Content-Length"] == "3"
    assert head.headers["Upload-Length"] == "8"
    assert head.headers["Content-Type"] == "application/offset+octet-stream"
    assert read_append(answer(204, Upload_Offset="7"), offset=5, body_length=3).offset == 7
    with pytest.raises(ProtocolError):
        read_append(answer(204, Upload_Offset="9"), offset=5, body_length=3)
    with pytest.raises(ProtocolError):
        read_append(answer(204, Upload_Offset="4"), offset=5, body_length=3)
    with pytest.raises(ResponseError) as info:
        read_append(answer(409, body="offset wrong", Upload_Offset="2"), offset=5, body_length=3)
    assert info.value.status == 409
    assert info.value.headers["Upload-Offset"] == "2"
    assert "409" in info.value.message
    assert "offset wrong" in info.value.message


def test_an_error_body_that_repeats_the_status_line_is_left_out() -> None:
    def message(body: str) -> str:
        head = ResponseHead(404, CIMultiDict(), BASE, "Not Found", body)
        with pytest.raises(UploadNotFound) as info:
            read_creation(head, sent_body=None)
        return info.value.message

    assert message("404: Not Found") == "POST https://h/files/ answered 404 Not Found"
    assert message("no such upload") == (
        "POST https://h/files/ answered 404 Not Found: no such upload"
    )


def test_termination_request() -> None:
    assert termination_request(BASE).method == "DELETE"


def test_checksum_header() -> None:
    assert checksum_header("sha1", b"abc") == "sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0="


@pytest.mark.parametrize(("size", "parts"), [(10, 3), (2, 5), (0, 4), (7, 1), (100, 7)])
def test_split_ranges_cover_the_source(size: int, parts: int) -> None:
    ranges = split_ranges(size, parts)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert len(ranges) == max(1, min(parts, size))
    assert max(e - s for s, e in ranges) - min(e - s for s, e in ranges) <= 1


def test_final_concat_lists_urls_in_order() -> None:
    urls = [URL("https://h/files/2"), URL("https://h/files/1")]
    assert final_concat(urls) == "final;https://h/files/2 https://h/files/1"
