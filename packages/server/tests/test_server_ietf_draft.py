"""The IETF resumable-upload draft next to tus 1.0.0 (``setup_tus(ietf_draft=True)``), over raw
HTTP and per interop version. Header names and values are spelled out: an independent check."""

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from tus_server_testing import (
    TUS,
    Client,
    MakeClient,
    expect_draft_creation,
    open_raw,
    raw_head,
    read_status,
)
from yarl import URL

from tuskit_server._draft_rules import draft_version
from tuskit_server.launch import setup_tus_options
from tuskit_server.settings import load_settings

PARTIAL = "application/partial-upload"
PROBLEM_BASE = "https://iana.org/assignments/http-problem-types#"
#: Every interop version, and None for a request that names none (the latest text).
VERSIONS = [3, 4, 5, 6, 7, 8, None]


def draft_headers(version: int | None, complete: bool, **extra: str) -> dict[str, str]:
    """The version header and completeness as that version spells it."""
    sent: dict[str, str] = {}
    if version is not None:
        sent["Upload-Draft-Interop-Version"] = str(version)
    if version == 3:
        sent["Upload-Incomplete"] = "?0" if complete else "?1"
    else:
        sent["Upload-Complete"] = "?1" if complete else "?0"
    return {**sent, **extra}


def append_headers(version: int | None, offset: int, complete: bool) -> dict[str, str]:
    sent = draft_headers(version, complete, **{"Upload-Offset": str(offset)})
    if version is None or version >= 6:
        sent["Content-Type"] = PARTIAL
    return sent


def completeness(response: ClientResponse, version: int | None) -> bool:
    if version == 3:
        return response.headers["Upload-Incomplete"] == "?0"
    return response.headers["Upload-Complete"] == "?1"


def stored(tmp_path: Path, location: str) -> bytes:
    return (tmp_path / "up" / URL(location).name).read_bytes()


@pytest.fixture
async def draft_client(make_client: MakeClient) -> Client:
    return await make_client(ietf_draft=True)


@pytest.mark.parametrize("version", VERSIONS)
async def test_careful_creation_then_appends_complete_the_upload(
    draft_client: Client, tmp_path: Path, version: int | None
) -> None:
    created = await draft_client.post("/uploads", headers=draft_headers(version, False))
    assert created.status == 201
    location = created.headers["Location"]
    path = URL(location).raw_path
    assert created.headers["Upload-Offset"] == "0"
    assert not completeness(created, version)
    first = await draft_client.patch(path, data=b"hello", headers=append_headers(version, 0, False))
    assert first.status == 204
    assert first.headers["Upload-Offset"] == "5"
    assert not completeness(first, version)
    head = await draft_client.head(path, headers=draft_headers(version, False))
    assert head.status == 204
    assert head.headers["Upload-Offset"] == "5"
    assert head.headers["Cache-Control"] == "no-store"
    assert "Upload-Length" not in head.headers
    last = await draft_client.patch(path, data=b" world", headers=append_headers(version, 5, True))
    assert last.status == 204
    assert completeness(last, version)
    head = await draft_client.head(path, headers=draft_headers(version, False))
    assert head.headers["Upload-Length"] == "11"
    assert completeness(head, version)
    assert stored(tmp_path, location) == b"hello world"


@pytest.mark.parametrize("version", VERSIONS)
async def test_creation_with_the_whole_body_is_complete_at_once(
    draft_client: Client, tmp_path: Path, version: int | None
) -> None:
    sent = draft_headers(version, True, **{"Content-Type": "text/plain"})
    created = await draft_client.post("/uploads", data=b"all of it", headers=sent)
    assert created.status == 201
    assert created.headers["Upload-Offset"] == "9"
    assert created.headers["Upload-Length"] == "9"
    assert completeness(created, version)
    assert stored(tmp_path, created.headers["Location"]) == b"all of it"


async def test_raw_creation_announces_the_upload_with_104_before_the_final_answer(
    draft_client: Client,
) -> None:
    reader, writer = await open_raw(draft_client.server)
    head = raw_head(
        "POST",
        "/uploads",
        {"Upload-Draft-Interop-Version": "6", "Upload-Complete": "?1", "Content-Length": "4"},
    )
    writer.write(head + b"data")
    interim_status, interim = await read_status(reader)
    final_status, final = await read_status(reader)
    writer.close()
    assert interim_status == 104
    assert interim.startswith("HTTP/1.1 104 Upload Resumption Supported\r\n")
    assert "Upload-Draft-Interop-Version: 6\r\n" in interim
    assert final_status == 201
    interim_location = interim.split("Location: ", 1)[1].split("\r\n", 1)[0]
    assert f"Location: {interim_location}\r\n" in final


async def test_an_interrupted_creation_resumes_from_the_104_location(
    draft_client: Client, tmp_path: Path
) -> None:
    reader, writer = await open_raw(draft_client.server)
    head = raw_head("POST", "/uploads", {"Upload-Complete": "?1", "Content-Length": "10"})
    writer.write(head + b"0123")
    await writer.drain()
    status, interim = await read_status(reader)
    assert status == 104
    location = interim.split("Location: ", 1)[1].split("\r\n", 1)[0]
    writer.close()  # the connection drops after 4 of 10 bytes
    path = URL(location).raw_path
    for _ in range(100):  # the server notices the drop and stores what arrived
        head_response = await draft_client.head(path)
        if head_response.status == 204 and head_response.headers["Upload-Offset"] == "4":
            break
        await asyncio.sleep(0.05)
    assert head_response.headers["Upload-Offset"] == "4"
    assert head_response.headers["Upload-Length"] == "10"
    assert head_response.headers["Upload-Complete"] == "?0"
    rest = await draft_client.patch(path, data=b"456789", headers=append_headers(None, 4, True))
    assert rest.status == 204
    assert rest.headers["Upload-Complete"] == "?1"
    assert stored(tmp_path, location) == b"0123456789"


async def _upload(client: Client, data: bytes, *, complete: bool = False) -> str:
    sent = draft_headers(8, complete, **{"Upload-Length": "10"})
    created = await client.post("/uploads", data=data, headers=sent)
    assert created.status == 201, await created.text()
    return URL(created.headers["Location"]).raw_path


@pytest.mark.parametrize("version", [6, 7, 8])
async def test_offset_mismatch_is_a_409_problem_with_both_offsets(
    draft_client: Client, version: int
) -> None:
    path = await _upload(draft_client, b"abc")
    response = await draft_client.patch(path, data=b"x", headers=append_headers(version, 1, False))
    assert response.status == 409
    assert response.headers["Upload-Offset"] == "3"
    assert response.content_type == "application/problem+json"
    body = json.loads(await response.read())
    assert body["type"] == PROBLEM_BASE + "mismatching-upload-offset"
    assert (body["expected-offset"], body["provided-offset"]) == (3, 1)


async def test_appending_to_a_completed_upload_is_refused_with_the_draft_problems(
    draft_client: Client,
) -> None:
    path = await _upload(draft_client, b"0123456789", complete=True)
    more = await draft_client.patch(path, data=b"x", headers=append_headers(8, 10, True))
    assert more.status == 400
    assert json.loads(await more.read())["type"] == PROBLEM_BASE + "inconsistent-upload-length"
    empty = await draft_client.patch(path, headers=append_headers(8, 10, True))
    assert empty.status == 400
    assert json.loads(await empty.read())["type"] == PROBLEM_BASE + "completed-upload"


async def test_a_completing_request_short_of_the_length_is_inconsistent(
    draft_client: Client,
) -> None:
    sent = draft_headers(8, True, **{"Upload-Length": "5"})
    response = await draft_client.post("/uploads", data=b"abc", headers=sent)
    assert response.status == 400
    assert json.loads(await response.read())["type"] == PROBLEM_BASE + "inconsistent-upload-length"


async def test_the_append_media_type_is_required_from_interop_version_6(
    draft_client: Client,
) -> None:
    path = await _upload(draft_client, b"abc")
    sent = {**append_headers(6, 3, False), "Content-Type": "application/octet-stream"}
    refused = await draft_client.patch(path, data=b"d", headers=sent)
    assert refused.status == 415
    older = {k: v for k, v in append_headers(5, 3, False).items() if k != "Content-Type"}
    accepted = await draft_client.patch(path, data=b"d", headers=older)
    assert accepted.status == 204
    assert accepted.headers["Upload-Offset"] == "4"


async def test_an_empty_completing_append_fixes_an_unknown_length(
    draft_client: Client, tmp_path: Path
) -> None:
    created = await draft_client.post("/uploads", data=b"abcd", headers=draft_headers(8, False))
    path = URL(created.headers["Location"]).raw_path
    assert "Upload-Length" not in created.headers
    done = await draft_client.patch(path, headers=append_headers(8, 4, True))
    assert done.status == 204
    assert done.headers["Upload-Length"] == "4"
    assert done.headers["Upload-Complete"] == "?1"
    assert stored(tmp_path, created.headers["Location"]) == b"abcd"


async def test_limits_are_announced_and_a_413_carries_them(make_client: MakeClient) -> None:
    client = await make_client(ietf_draft=True, max_size=8)
    options = await client.options("/uploads")
    assert options.headers["Accept-Patch"] == PARTIAL
    assert options.headers["Upload-Limit"] == "max-size=8"
    created = await client.post("/uploads", headers=draft_headers(8, False))
    assert created.headers["Upload-Limit"].startswith("max-size=8, max-age=")
    v6 = await client.post("/uploads", headers=draft_headers(6, False))
    assert ", expires=" in v6.headers["Upload-Limit"]
    too_big = await client.post(
        "/uploads", headers=draft_headers(8, False, **{"Upload-Length": "9"})
    )
    assert too_big.status == 413
    assert too_big.headers["Upload-Limit"] == "max-size=8"


async def test_cancellation_needs_no_tus_header(draft_client: Client) -> None:
    path = await _upload(draft_client, b"abc")
    deleted = await draft_client.delete(path)
    assert deleted.status == 204
    gone = await draft_client.head(path)
    assert gone.status in (404, 410)


async def test_an_unknown_interop_version_is_a_clear_400(draft_client: Client) -> None:
    response = await draft_client.post(
        "/uploads", headers={"Upload-Draft-Interop-Version": "99", "Upload-Complete": "?0"}
    )
    assert response.status == 400
    assert "Upload-Draft-Interop-Version 99 is not supported" in await response.text()


async def test_tus_requests_are_served_as_before_next_to_the_draft(draft_client: Client) -> None:
    created = await draft_client.post("/uploads", headers={**TUS, "Upload-Length": "3"})
    assert created.status == 201
    path = URL(created.headers["Location"]).raw_path
    sent = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    patched = await draft_client.patch(path, data=b"abc", headers=sent)
    assert patched.status == 204
    assert "Upload-Complete" not in patched.headers
    draft_head = await draft_client.head(path)  # the draft sees the same upload
    assert draft_head.headers["Upload-Complete"] == "?1"


async def test_without_the_option_a_draft_request_is_not_understood(client: Client) -> None:
    response = await client.post("/uploads", headers=draft_headers(8, True))
    assert response.status == 412


async def test_expect_continue_passes_a_draft_creation(draft_client: Client) -> None:
    reader, writer, status, _ = await expect_draft_creation(draft_client.server, 2)
    assert status == 100
    writer.write(b"ok")
    statuses = [(await read_status(reader))[0], (await read_status(reader))[0]]
    writer.close()
    assert statuses == [104, 201]


@pytest.mark.parametrize(
    ("method", "sent", "expected"),
    [
        ("POST", {"Upload-Draft-Interop-Version": "5", **TUS}, 5),  # the named version wins
        ("POST", {"Upload-Complete": "?1"}, 8),
        ("POST", {"Upload-Complete": "?1", **TUS}, None),
        ("POST", {}, None),
        ("PATCH", {"Upload-Complete": "?0"}, 8),
        ("HEAD", {}, 8),
        ("HEAD", TUS, None),
        ("DELETE", {}, 8),
        ("GET", {}, None),
        ("OPTIONS", {}, None),
    ],
)
def test_requests_are_told_apart_by_their_headers(
    method: str, sent: dict[str, str], expected: int | None
) -> None:
    version = draft_version(method, sent)
    assert (version.interop if version is not None else None) == expected


def test_tus_serve_passes_the_option_from_flag_and_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TUSKIT_IETF_DRAFT", raising=False)
    assert setup_tus_options(load_settings({}))["ietf_draft"] is False
    assert setup_tus_options(load_settings({"ietf_draft": True}))["ietf_draft"] is True
    monkeypatch.setenv("TUSKIT_IETF_DRAFT", "true")
    assert load_settings({}).ietf_draft is True


async def test_large_draft_bodies_take_the_kernel_copy_path(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(ietf_draft=True, splice_min=64 * 1024)
    body = bytes(range(256)) * (8 * 1024)  # 2 MiB
    half = len(body) // 2
    sent = draft_headers(8, False, **{"Upload-Length": str(len(body))})
    created = await client.post("/uploads", data=body[:half], headers=sent)
    assert created.status == 201
    assert created.headers["Connection"] == "close"  # poured: the connection ends after it
    path = URL(created.headers["Location"]).raw_path
    rest = await client.patch(path, data=body[half:], headers=append_headers(8, half, True))
    assert rest.status == 204
    assert rest.headers["Connection"] == "close"
    assert rest.headers["Upload-Complete"] == "?1"
    assert stored(tmp_path, created.headers["Location"]) == body


async def test_an_http_1_0_request_gets_no_interim_response(draft_client: Client) -> None:
    reader, writer = await open_raw(draft_client.server)
    head = raw_head("POST", "/uploads", {"Upload-Complete": "?1", "Content-Length": "2"})
    writer.write(head.replace(b"HTTP/1.1", b"HTTP/1.0", 1) + b"ok")
    status, _ = await read_status(reader)
    writer.close()
    assert status == 201


async def test_cors_allows_and_exposes_the_draft_headers(draft_client: Client) -> None:
    origin = {"Origin": "https://app.example"}
    preflight = await draft_client.options(
        "/uploads", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    allowed = preflight.headers["Access-Control-Allow-Headers"]
    assert "Upload-Draft-Interop-Version" in allowed
    assert "Upload-Complete" in allowed
    created = await draft_client.post("/uploads", headers={**origin, **draft_headers(8, False)})
    exposed = created.headers["Access-Control-Expose-Headers"]
    assert "Upload-Complete" in exposed
    assert "Upload-Limit" in exposed


async def test_expect_continue_refuses_a_draft_creation_too_large_before_its_body(
    make_client: MakeClient,
) -> None:
    client = await make_client(ietf_draft=True, max_size=4)
    _, writer, status, text = await expect_draft_creation(client.server, 10)
    writer.close()
    assert status == 413
    assert "Upload-Limit: max-size=4\r\n" in text
