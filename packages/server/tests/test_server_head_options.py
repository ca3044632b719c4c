"""HEAD and OPTIONS (spec §1.2)."""

import pytest
from tus_server_testing import TUS, MakeClient, b64, create, patch

from tuskit_server import MemoryStore


async def test_options_advertises_everything_the_file_store_can(make_client: MakeClient) -> None:
    client = await make_client(max_size=1000)
    response = await client.options("/uploads", headers={"Tus-Resumable": "9.9.9"})
    assert response.status == 200  # never refused, even unsupported (spec: MUST ignore)
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Max-Size"] == "1000"
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,md5,sha256,sha512,crc32"
    extensions = response.headers["Tus-Extension"].split(",")
    assert extensions == [
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "expiration",
        "checksum",
        "termination",
        "concatenation",
        "concatenation-unfinished",
    ]
    assert "checksum-trailer" not in extensions
    assert response.headers["Tus-Resumable"] == "1.0.0"  # as in the spec's own example


async def test_options_is_200_with_an_empty_body_whatever_tus_resumable_says(
    make_client: MakeClient,
) -> None:
    client = await make_client()
    for url in ("/uploads", "/uploads/", "/uploads/some-id"):
        response = await client.options(url)
        assert response.status == 200
        assert await response.read() == b""
        assert response.headers["Tus-Resumable"] == "1.0.0"
        assert response.headers["Tus-Version"] == "1.0.0"
    upload = await client.options("/uploads/some-id", headers={"Tus-Resumable": "1.0.0"})
    assert upload.status == 200
    assert upload.headers["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize(
    ("setup", "absent"),
    [
        ({"expiration": None}, "expiration"),
        ({"checksum_algorithms": ()}, "checksum"),
        ({"extensions": ["creation", "termination"]}, "concatenation"),
    ],
)
async def test_options_switches(
    make_client: MakeClient, setup: dict[str, object], absent: str
) -> None:
    client = await make_client(**setup)
    response = await client.options("/uploads/")
    assert absent not in response.headers["Tus-Extension"].split(",")
    if absent == "checksum":
        assert "Tus-Checksum-Algorithm" not in response.headers
    assert "Tus-Max-Size" not in response.headers


async def test_options_on_an_upload_url(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 3)
    response = await client.options(path)
    assert response.status == 200
    assert response.headers["Tus-Version"] == "1.0.0"


async def test_extensions_follow_store_capabilities(make_client: MakeClient) -> None:
    class CoreOnly:
        def __init__(self) -> None:
            self._inner = MemoryStore()
            self.open, self.close = self._inner.open, self._inner.close
            self.create, self.get, self.write = (
                self._inner.create,
                self._inner.get,
                self._inner.write,
            )

    client = await make_client(store=CoreOnly(), upload_path=None)
    response = await client.options("/uploads")
    assert response.headers["Tus-Extension"] == "creation,creation-with-upload"
    path = await create(client, 2)
    assert (await client.delete(path, headers=TUS)).status == 405


async def test_head_reports_everything(make_client: MakeClient) -> None:
    client = await make_client()
    raw = f"filename {b64('a.txt')},flag , mime {b64('text/plain')}"
    path = await create(client, 10, headers={"Upload-Metadata": raw})
    await patch(client, path, 0, b"abc")
    response = await client.head(path, headers=TUS)
    assert response.status == 200
    assert response.headers["Upload-Offset"] == "3"
    assert response.headers["Upload-Length"] == "10"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Upload-Metadata"] == raw  # byte for byte
    assert response.headers["Upload-Expires"].endswith("GMT")
    assert response.headers["Tus-Resumable"] == "1.0.0"


async def test_head_after_completion_still_answers(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 2)
    await patch(client, path, 0, b"ab")
    response = await client.head(path, headers=TUS)
    assert response.status == 200
    assert response.headers["Upload-Offset"] == "2"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 412), ({"Tus-Resumable": "0.1"}, 412), (TUS, 404)],
)
async def test_head_errors(make_client: MakeClient, headers: dict[str, str], status: int) -> None:
    client = await make_client()
    response = await client.head("/uploads/" + "b" * 32, headers=headers)
    assert response.status == status
    assert "Upload-Offset" not in response.headers
    if status == 412:
        assert response.headers["Tus-Version"] == "1.0.0"


async def test_collection_get_and_put_are_405(make_client: MakeClient) -> None:
    client = await make_client()
    collection = await client.get("/uploads")
    assert collection.status == 405
    assert collection.headers["Allow"] == "OPTIONS, POST"
    assert collection.headers["Tus-Resumable"] == "1.0.0"
    path = await create(client, 1)
    put = await client.put(path)
    assert put.status == 405
    assert put.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH"
    response = await client.post(path, headers=TUS)  # POST on an upload without override
    assert response.status == 405
    assert "PATCH" in response.headers["Allow"]
