"""Traversal and bad ids: validated before any storage access, in URLs and Upload-Concat."""

from pathlib import Path

import pytest
from tus_server_testing import OCTET, TUS, MakeClient, create, patch

from tuskit_common import Resource
from tuskit_server import CreateChanges, Hooks
from tuskit_server._endpoint import _RandomIds

BAD_IDS = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%2Fup",
    "..",
    "%2e%2e",
    "a" * 129,
    "abc.info",
    "abc%00",
    "ab%20cd",
    "%5C..%5Cwin",
]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
async def test_bad_ids_are_404(
    make_client: MakeClient, tmp_path: Path, method: str, bad: str
) -> None:
    client = await make_client()
    (tmp_path / "passwd").write_text("secret")
    headers = {**TUS, "Upload-Offset": "0", "Content-Type": OCTET}
    response = await client.request(method, f"/uploads/{bad}", headers=headers)
    assert response.status in (404, 405), (method, bad)  # 405: aiohttp refuses the route
    if response.status == 404:
        assert "secret" not in await response.text()
    assert (tmp_path / "passwd").read_text() == "secret"


@pytest.mark.parametrize(
    "url",
    [
        "/uploads/..%2F..%2Fetc",
        "/uploads/../up/x",
        "/elsewhere/" + "a" * 32,
        "http://other.example/elsewhere/abc",
        "/uploads/" + "a" * 129,
        "/uploads/" + "f" * 32,  # well-formed but unknown
    ],
)
async def test_bad_ids_in_upload_concat(make_client: MakeClient, url: str) -> None:
    client = await make_client()
    response = await client.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{url}"})
    assert response.status == 400
    assert url in await response.text()  # the message names the URL


async def test_metadata_filename_is_never_a_path(make_client: MakeClient, tmp_path: Path) -> None:
    client = await make_client()
    import base64

    name = base64.b64encode(b"../../escaped.txt").decode()
    path = await create(client, 3, headers={"Upload-Metadata": f"filename {name}"})
    await patch(client, path, 0, b"abc")
    assert not (tmp_path / "escaped.txt").exists()
    assert not list(tmp_path.parent.glob("escaped.txt"))
    assert (tmp_path / "up" / path.rsplit("/", 1)[1]).read_bytes() == b"abc"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "x" * 200])
async def test_hook_supplied_ids_are_validated(make_client: MakeClient, bad: str) -> None:
    async def pre_create(request: object, resource: Resource) -> CreateChanges:
        return CreateChanges(id=bad)

    client = await make_client(hooks=Hooks(pre_create=pre_create))
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 500
    assert "invalid upload id" in await response.text()


async def test_hook_supplied_id_collision(make_client: MakeClient) -> None:
    async def pre_create(request: object, resource: Resource) -> CreateChanges:
        return CreateChanges(id="fixed-id")

    client = await make_client(hooks=Hooks(pre_create=pre_create))
    assert (await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})).status == 201
    again = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert again.status == 409


def test_generated_ids_are_128_random_bits_and_distinct() -> None:
    ids = _RandomIds()
    drawn = [ids() for _ in range(1000)]  # several refills of the pool
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in drawn)
    assert len(set(drawn)) == len(drawn)
    assert _RandomIds()() not in drawn
