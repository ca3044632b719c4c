"""DELETE (termination) and GET (download with Range)."""

from typing import Any

import pytest
from tus_server_testing import TUS, MakeClient, b64, create, patch

from tuskit_server import Hooks


async def test_delete_then_410(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 5)
    await patch(client, path, 0, b"ab")
    response = await client.delete(path, headers=TUS)
    assert response.status == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert (await client.head(path, headers=TUS)).status == 410
    assert (await patch(client, path, 2, b"c")).status == 410
    assert (await client.delete(path, headers=TUS)).status == 410


@pytest.mark.parametrize(("headers", "status"), [({}, 412), (TUS, 404)])
async def test_delete_errors(make_client: MakeClient, headers: dict[str, str], status: int) -> None:
    client = await make_client()
    assert (await client.delete("/uploads/" + "c" * 32, headers=headers)).status == status


async def test_delete_vetoed_by_hook(make_client: MakeClient) -> None:
    async def pre_terminate(request: Any, resource: Any) -> bool:
        return False

    client = await make_client(hooks=Hooks(pre_terminate=pre_terminate))
    path = await create(client, 5)
    response = await client.delete(path, headers=TUS)
    assert response.status == 403
    assert (await client.head(path, headers=TUS)).status == 200


async def test_delete_protected_finished(make_client: MakeClient) -> None:
    client = await make_client(protect_finished=True)
    path = await create(client, 1)
    await patch(client, path, 0, b"x")
    assert (await client.delete(path, headers=TUS)).status == 403
    other = await create(client, 2)
    assert (await client.delete(other, headers=TUS)).status == 204


async def _finished(client: Any, data: bytes, metadata: str | None = None) -> str:
    headers = {"Upload-Metadata": metadata} if metadata else None
    path = await create(client, len(data), headers=headers)
    assert (await patch(client, path, 0, data)).status == 204
    return path


async def test_download_whole_and_range(make_client: MakeClient) -> None:
    client = await make_client()
    path = await _finished(
        client, b"0123456789", f"filename {b64('report.txt')},filetype {b64('text/plain')}"
    )
    response = await client.get(path)
    assert response.status == 200
    assert await response.read() == b"0123456789"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Content-Disposition"].startswith('inline; filename="report.txt"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    ranged = await client.get(path, headers={"Range": "bytes=2-4"})
    assert ranged.status == 206
    assert await ranged.read() == b"234"
    bad = await client.get(path, headers={"Range": "bytes=50-60"})
    assert bad.status == 416
    assert bad.headers["Content-Range"] == "bytes */10"


async def test_download_sanitises_name_and_type(make_client: MakeClient) -> None:
    client = await make_client()
    evil = '../../etc/pa"ss\r\nwd'
    meta = f"filename {b64(evil)},filetype {b64('text/html; x')}"
    path = await _finished(client, b"<b>hi</b>", meta)
    response = await client.get(path)
    assert response.headers["Content-Type"] == "application/octet-stream"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="passwd"')
    assert "/" not in disposition
    assert "\r" not in disposition


async def test_download_non_ascii_name(make_client: MakeClient) -> None:
    client = await make_client()
    path = await _finished(
        client, b"x", f"filename {b64('résumé.pdf')},filetype {b64('application/pdf')}"
    )
    response = await client.get(path)
    assert response.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in response.headers["Content-Disposition"]


async def test_download_unfinished_404_and_off_405(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 5)
    assert (await client.get(path)).status == 404
    assert (await client.get("/uploads/" + "d" * 32)).status == 404
    off = await make_client(download=False)
    other = await create(off, 1)
    assert (await off.get(other)).status == 405
