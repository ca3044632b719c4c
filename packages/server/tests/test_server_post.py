"""POST (creation, creation-with-upload, creation-defer-length): every status, table style."""

from typing import Any

import pytest
from tus_server_testing import OCTET, TUS, MakeClient, b64, checksum, offset_of, path_of

from tuskit_server import MemoryStore

M = "application/offset+octet-stream"

CASES: list[tuple[str, dict[str, str], bytes | None, dict[str, Any], int, str]] = [
    # (name, headers, body, setup kwargs, status, text fragment)
    ("ok", {**TUS, "Upload-Length": "5"}, None, {}, 201, ""),
    ("no version", {"Upload-Length": "5"}, None, {}, 412, "missing"),
    ("bad version", {"Tus-Resumable": "0.2.2", "Upload-Length": "5"}, None, {}, 412, "0.2.2"),
    ("no length", dict(TUS), None, {}, 400, "Upload-Length"),
    (
        "both lengths",
        {**TUS, "Upload-Length": "5", "Upload-Defer-Length": "1"},
        None,
        {},
        400,
        "both",
    ),
    ("defer 2", {**TUS, "Upload-Defer-Length": "2"}, None, {}, 400, "Upload-Defer-Length"),
    ("negative", {**TUS, "Upload-Length": "-1"}, None, {}, 400, "Upload-Length"),
    ("decimal", {**TUS, "Upload-Length": "1.5"}, None, {}, 400, "Upload-Length"),
    ("20 digits", {**TUS, "Upload-Length": "1" * 20}, None, {}, 400, "Upload-Length"),
    ("too large", {**TUS, "Upload-Length": "11"}, None, {"max_size": 10}, 413, "maximum"),
    (
        "bad metadata",
        {**TUS, "Upload-Length": "1", "Upload-Metadata": "a b c"},
        None,
        {},
        400,
        "'a b c'",
    ),
    ("bad b64", {**TUS, "Upload-Length": "1", "Upload-Metadata": "k !!"}, None, {}, 400, "base64"),
    (
        "dup key",
        {**TUS, "Upload-Length": "1", "Upload-Metadata": "k,k"},
        None,
        {},
        400,
        "duplicate",
    ),
    (
        "metadata too big",
        {**TUS, "Upload-Length": "1", "Upload-Metadata": "k " + b64("x" * 200)},
        None,
        {"metadata_limit": 100},
        400,
        "larger",
    ),
    (
        "defer off",
        {**TUS, "Upload-Defer-Length": "1"},
        None,
        {"extensions": ["creation"]},
        501,
        "defer",
    ),
    (
        "concat off",
        {**TUS, "Upload-Concat": "partial", "Upload-Length": "1"},
        None,
        {"extensions": ["creation"]},
        501,
        "concatenation",
    ),
    (
        "bad concat",
        {**TUS, "Upload-Concat": "whole", "Upload-Length": "1"},
        None,
        {},
        400,
        "Upload-Concat",
    ),
    (
        "final with length",
        {**TUS, "Upload-Concat": "final;/uploads/abc", "Upload-Length": "1"},
        None,
        {},
        400,
        "final",
    ),
    (
        "body over length",
        {**TUS, "Upload-Length": "2", "Content-Type": M},
        b"abc",
        {},
        413,
        "Content-Length",
    ),
    (
        "with data off",
        {**TUS, "Upload-Length": "3", "Content-Type": M},
        b"abc",
        {"extensions": ["creation"]},
        501,
        "with-upload",
    ),
    (
        "bad checksum alg",
        {**TUS, "Upload-Length": "3", "Content-Type": M, "Upload-Checksum": "sha3 " + b64("x")},
        b"abc",
        {},
        400,
        "sha3",
    ),
    (
        "checksum mismatch",
        {**TUS, "Upload-Length": "3", "Content-Type": M, "Upload-Checksum": checksum(b"xyz")},
        b"abc",
        {},
        460,
        "checksum",
    ),
    ("creation off", {**TUS, "Upload-Length": "3"}, None, {"extensions": []}, 501, "creation"),
]


@pytest.mark.parametrize(
    ("name", "headers", "body", "setup", "status", "text"), CASES, ids=[c[0] for c in CASES]
)
async def test_post_status(
    make_client: MakeClient,
    name: str,
    headers: dict[str, str],
    body: bytes | None,
    setup: dict[str, Any],
    status: int,
    text: str,
) -> None:
    client = await make_client(**setup)
    response = await client.post("/uploads", headers=headers, data=body)
    assert response.status == status, await response.text()
    assert response.headers["Tus-Resumable"] == "1.0.0"
    if status == 412:
        assert response.headers["Tus-Version"] == "1.0.0"
    if status == 201:
        assert response.headers["Location"].startswith("http://")
    else:
        assert text in await response.text()
        assert "Location" not in response.headers


async def test_created_upload_starts_at_zero_with_expiry(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "4"})
    assert response.status == 201
    assert response.headers["Upload-Expires"] == "Tue, 08 Jan 2030 12:00:00 GMT"
    assert await offset_of(client, path_of(response)) == 0


async def test_ids_are_128_bit_random(make_client: MakeClient) -> None:
    client = await make_client()
    ids = set()
    for _ in range(5):
        response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
        upload_id = path_of(response).rsplit("/", 1)[1]
        assert len(upload_id) >= 32
        assert int(upload_id, 16) >= 0
        ids.add(upload_id)
    assert len(ids) == 5


async def test_creation_with_upload(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(
        "/uploads", headers={**TUS, "Upload-Length": "6", "Content-Type": OCTET}, data=b"abc"
    )
    assert response.status == 201
    assert response.headers["Upload-Offset"] == "3"
    assert await offset_of(client, path_of(response)) == 3


async def test_creation_with_upload_and_checksum(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(
        "/uploads",
        headers={
            **TUS,
            "Upload-Length": "3",
            "Content-Type": OCTET,
            "Upload-Checksum": checksum(b"abc", "md5"),
        },
        data=b"abc",
    )
    assert response.status == 201
    assert response.headers["Upload-Offset"] == "3"


async def test_other_content_type_is_not_data(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(
        "/uploads", headers={**TUS, "Upload-Length": "6", "Content-Type": "text/plain"}, data=b"abc"
    )
    assert response.status == 201
    assert "Upload-Offset" not in response.headers
    assert await offset_of(client, path_of(response)) == 0


async def test_zero_length_completes_at_creation(make_client: MakeClient) -> None:
    done: list[str] = []

    async def on_done(request: Any, resource: Any, path: Any) -> None:
        done.append(resource.id)

    client = await make_client(on_upload_done=on_done)
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "0"})
    assert response.status == 201
    path = path_of(response)
    assert done == [path.rsplit("/", 1)[1]]
    head = await client.head(path, headers=TUS)
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == "0"
    assert "Upload-Expires" not in head.headers  # finished uploads never expire


async def test_deferred_length(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post("/uploads", headers={**TUS, "Upload-Defer-Length": "1"})
    assert response.status == 201
    head = await client.head(path_of(response), headers=TUS)
    assert head.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in head.headers


async def test_store_without_download_still_creates(make_client: MakeClient) -> None:
    client = await make_client(store=MemoryStore(), upload_path=None)
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 201
    assert (await client.get(path_of(response))).status == 405
