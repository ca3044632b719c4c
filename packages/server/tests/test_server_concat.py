"""concatenation and concatenation-unfinished."""

from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tus_server_testing import TUS, MakeClient, create, offset_of, patch, path_of

from tuskit_server import setup_tus


async def _partial(client: object, data: bytes, *, send: bool = True) -> str:
    path = await create(client, len(data), headers={"Upload-Concat": "partial"})  # type: ignore[arg-type]
    if send:
        assert (await patch(client, path, 0, data)).status == 204  # type: ignore[arg-type]
    return path


async def test_final_of_finished_partials(make_client: MakeClient) -> None:
    done: list[int | None] = []

    async def on_done(request: object, resource: object, path: object) -> None:
        done.append(getattr(resource, "length", None))

    client = await make_client(on_upload_done=on_done)
    a = await _partial(client, b"hello ")
    b = await _partial(client, b"world")
    c = await _partial(client, b"!")
    absolute = f"http://{client.host}:{client.port}{b}"
    header = f"final;{a} {absolute} {c}"  # absolute or relative (issue 21: no repeats)
    response = await client.post(
        "/uploads", headers={**TUS, "Upload-Concat": header, "Upload-Metadata": "k"}
    )
    assert response.status == 201
    final = path_of(response)
    head = await client.head(final, headers=TUS)
    assert head.headers["Upload-Offset"] == "12"
    assert head.headers["Upload-Length"] == "12"
    assert head.headers["Upload-Concat"] == header
    assert head.headers["Upload-Metadata"] == "k"
    assert await (await client.get(final)).read() == b"hello world!"
    assert done == [6, 5, 1, 12]
    partial_head = await client.head(a, headers=TUS)
    assert partial_head.headers["Upload-Concat"] == "partial"
    assert (await patch(client, final, 12, b"")).status == 403


async def test_final_needs_partials(make_client: MakeClient) -> None:
    client = await make_client()
    plain = await create(client, 1)
    await patch(client, plain, 0, b"x")
    response = await client.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{plain}"})
    assert response.status == 400
    assert "partial" in await response.text()


async def test_final_with_body_is_403(make_client: MakeClient) -> None:
    client = await make_client()
    a = await _partial(client, b"x")
    response = await client.post(
        "/uploads",
        headers={
            **TUS,
            "Upload-Concat": f"final;{a}",
            "Content-Type": "application/offset+octet-stream",
        },
        data=b"y",
    )
    assert response.status == 403


async def test_final_over_max_size_is_413(make_client: MakeClient) -> None:
    client = await make_client(max_size=8)
    a = await _partial(client, b"12345")
    b = await _partial(client, b"6789")
    response = await client.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{a} {b}"})
    assert response.status == 413


async def test_unfinished_partials(make_client: MakeClient) -> None:
    client = await make_client()
    a = await _partial(client, b"abc", send=False)
    b = await _partial(client, b"de")
    response = await client.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{a} {b}"})
    assert response.status == 201
    final = path_of(response)
    head = await client.head(final, headers=TUS)
    assert "Upload-Offset" not in head.headers  # not concatenated yet (spec §concatenation)
    assert head.headers["Upload-Length"] == "5"
    assert (await client.delete(a, headers=TUS)).status == 403  # the pending final needs it
    assert (await patch(client, a, 0, b"abc")).status == 204  # completing it builds the final
    assert await offset_of(client, final) == 5
    assert await (await client.get(final)).read() == b"abcde"


async def test_unfinished_switched_off(make_client: MakeClient) -> None:
    client = await make_client(
        extensions=["creation", "creation-with-upload", "concatenation", "termination"]
    )
    a = await _partial(client, b"abc", send=False)
    response = await client.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{a}"})
    assert response.status == 400
    assert "not finished" in await response.text()


async def test_deleting_a_final_keeps_its_partials(make_client: MakeClient) -> None:
    client = await make_client()
    a = await _partial(client, b"abc")
    final = path_of(await client.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{a}"}))
    assert (await client.delete(final, headers=TUS)).status == 204
    assert await offset_of(client, a) == 3


async def test_expired_partial_cannot_be_concatenated(make_client: MakeClient) -> None:
    from tus_server_testing import Clock

    clock = Clock()
    client = await make_client(clock=clock)
    a = await _partial(client, b"abc", send=False)
    clock.advance(days=8)
    response = await client.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{a}"})
    assert response.status == 400
    assert a in await response.text()


async def test_pending_finals_survive_a_restart(tmp_path: Path) -> None:
    async def run(app: web.Application) -> TestClient[web.Request, web.Application]:
        client = TestClient(TestServer(app))
        await client.start_server()
        return client

    def app() -> web.Application:
        application = web.Application()
        setup_tus(application, upload_path=tmp_path)
        return application

    first = await run(app())
    a = await _partial(first, b"abc", send=False)
    final = path_of(await first.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{a}"}))
    await first.close()
    second = await run(app())
    try:
        assert (await second.delete(a, headers=TUS)).status == 403  # still needed
        assert (await patch(second, a, 0, b"abc")).status == 204
        assert await offset_of(second, final) == 3
    finally:
        await second.close()
