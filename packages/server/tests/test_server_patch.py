"""PATCH: every status of the digest's table, table style, plus offsets after each."""

import io
from collections.abc import AsyncIterator

import pytest
from tus_server_testing import OCTET, TUS, MakeClient, b64, checksum, create, offset_of, patch

CASES: list[tuple[str, dict[str, str], bytes, int, int]] = [
    # (name, headers over a valid PATCH at offset 0 of a 10-byte upload, body, status, offset after)
    ("ok", {}, b"hello", 204, 5),
    ("no version", {"Tus-Resumable": ""}, b"hello", 412, 0),
    ("bad version", {"Tus-Resumable": "2.0.0"}, b"hello", 412, 0),
    ("no content type", {"Content-Type": ""}, b"hello", 415, 0),
    ("wrong content type", {"Content-Type": "application/octet-stream"}, b"hello", 415, 0),
    ("offset missing", {"Upload-Offset": ""}, b"hello", 400, 0),
    ("offset malformed", {"Upload-Offset": "+0"}, b"hello", 400, 0),
    ("offset mismatch", {"Upload-Offset": "3"}, b"hello", 409, 0),
    ("body past length", {}, b"x" * 11, 413, 0),
    ("checksum ok", {"Upload-Checksum": checksum(b"hello", "sha256")}, b"hello", 204, 5),
    (
        "checksum crc32",
        {"Upload-Checksum": "crc32 " + b64((907060870).to_bytes(4, "big"))},
        b"hello",
        204,
        5,
    ),
    ("checksum mismatch", {"Upload-Checksum": checksum(b"world")}, b"hello", 460, 0),
    ("checksum empty body", {"Upload-Checksum": checksum(b"x")}, b"", 460, 0),
    ("checksum empty ok", {"Upload-Checksum": checksum(b"")}, b"", 204, 0),
    ("checksum unknown", {"Upload-Checksum": "blake3 " + b64(b"x" * 32)}, b"hello", 400, 0),
    ("checksum malformed", {"Upload-Checksum": "sha1"}, b"hello", 400, 0),
    ("checksum wrong size", {"Upload-Checksum": "sha1 " + b64(b"x")}, b"hello", 400, 0),
    ("length changed", {"Upload-Length": "11"}, b"hello", 400, 0),
    ("length same", {"Upload-Length": "10"}, b"hello", 204, 5),
]


@pytest.mark.parametrize(
    ("name", "headers", "body", "status", "after"), CASES, ids=[c[0] for c in CASES]
)
async def test_patch_status(
    make_client: MakeClient,
    name: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    after: int,
) -> None:
    client = await make_client()
    path = await create(client, 10)
    sent = {**TUS, "Upload-Offset": "0", "Content-Type": OCTET, **headers}
    sent = {k: v for k, v in sent.items() if v}
    response = await client.patch(path, headers=sent, data=body)
    assert response.status == status, await response.text()
    assert response.headers["Tus-Resumable"] == "1.0.0"
    if status == 204:
        assert response.headers["Upload-Offset"] == str(after)
        assert "Upload-Expires" in response.headers
    if status == 409:
        assert response.headers["Upload-Offset"] == "0"  # the current offset (1.1 / IETF)
    if status == 412:
        assert response.headers["Tus-Version"] == "1.0.0"
    assert await offset_of(client, path) == after


async def test_unknown_upload_is_404(make_client: MakeClient) -> None:
    client = await make_client()
    response = await patch(client, "/uploads/" + "a" * 32, 0, b"x")
    assert response.status == 404


async def test_two_chunks_complete(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 6)
    assert (await patch(client, path, 0, b"abc")).status == 204
    response = await patch(client, path, 3, b"def")
    assert response.status == 204
    assert response.headers["Upload-Offset"] == "6"
    assert "Upload-Expires" not in response.headers  # finished: cannot expire any more


async def test_complete_upload_empty_patch_is_204_without_hooks(make_client: MakeClient) -> None:
    calls: list[str] = []

    async def on_done(request: object, resource: object, path: object) -> None:
        calls.append("done")

    client = await make_client(on_upload_done=on_done)
    path = await create(client, 3)
    assert (await patch(client, path, 0, b"abc")).status == 204
    response = await patch(client, path, 3, b"")
    assert response.status == 204
    assert response.headers["Upload-Offset"] == "3"
    assert calls == ["done"]


async def test_complete_upload_with_more_bytes_is_413(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 3)
    assert (await patch(client, path, 0, b"abc")).status == 204
    assert (await patch(client, path, 3, b"d")).status == 413


async def test_chunked_body_past_length_keeps_the_remaining_bytes(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 4)

    async def body() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cdef"

    response = await patch(client, path, 0, body())
    assert response.status == 413
    assert await offset_of(client, path) == 4


async def test_deferred_length_declared_later(make_client: MakeClient) -> None:
    client = await make_client(max_size=100)
    path = await create(client, None)
    assert (await patch(client, path, 0, b"abc")).status == 204
    assert (await patch(client, path, 3, b"de", Upload_Length="101")).status == 413
    assert (await patch(client, path, 3, b"de", Upload_Length="2")).status == 400
    response = await patch(client, path, 3, b"de", Upload_Length="5")
    assert response.status == 204
    head = await client.head(path, headers=TUS)
    assert head.headers["Upload-Length"] == "5"
    assert head.headers["Upload-Offset"] == "5"
    assert "Upload-Defer-Length" not in head.headers


async def test_zero_byte_patch_declaring_length_completes(make_client: MakeClient) -> None:
    done: list[int | None] = []

    async def on_done(request: object, resource: object, path: object) -> None:
        done.append(getattr(resource, "length", None))

    client = await make_client(on_upload_done=on_done)
    path = await create(client, None)
    assert (await patch(client, path, 0, b"abc")).status == 204
    response = await patch(client, path, 3, b"", Upload_Length="3")
    assert response.status == 204
    assert done == [3]


async def test_deferred_body_capped_by_max_size(make_client: MakeClient) -> None:
    client = await make_client(max_size=4)
    path = await create(client, None)
    assert (await patch(client, path, 0, b"abcde")).status == 413
    assert await offset_of(client, path) == 0


async def test_patch_to_final_is_403(make_client: MakeClient) -> None:
    client = await make_client()
    part = await create(client, 1, headers={"Upload-Concat": "partial"})
    assert (await patch(client, part, 0, b"x")).status == 204
    final = await create(
        client, None, headers={"Upload-Concat": f"final;{part}", "Upload-Defer-Length": ""}
    )
    response = await patch(client, final, 0, b"")
    assert response.status == 403


async def test_large_chunk_is_not_capped_by_client_max_size(make_client: MakeClient) -> None:
    client = await make_client()
    size = 3 * 1024 * 1024  # aiohttp's client_max_size is 1 MiB
    path = await create(client, size)
    response = await patch(client, path, 0, io.BytesIO(b"z" * size))
    assert response.status == 204
    assert response.headers["Upload-Offset"] == str(size)
