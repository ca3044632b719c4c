"""Two tus apps on one bucket: every request of every upload may go to either (issue 23's
shared state), here the finals waiting for partials (concatenation-unfinished)."""

from pathlib import Path

from aiohttp import web
from pytest_aiohttp import AiohttpClient
from tus_s3_testing import S3Target
from tus_server_testing import TUS, Client, create, patch, path_of

from tuskit_common import Resource
from tuskit_server import setup_tus
from tuskit_server.stores.s3 import S3Store


async def two_servers(
    aiohttp_client: AiohttpClient, s3: S3Target, done: list[str]
) -> tuple[Client, Client, S3Store]:
    bucket, prefix = await s3.fresh()

    async def on_done(request: web.Request, resource: Resource, path: Path | None) -> None:
        done.append(resource.id)

    clients = []
    stores = []
    for _ in range(2):
        store = S3Store(bucket, prefix, **s3.store_kwargs())
        app = web.Application()
        setup_tus(app, store=store, on_upload_done=on_done)
        clients.append(await aiohttp_client(app))
        stores.append(store)
    return clients[0], clients[1], stores[0]


async def test_a_partial_finished_on_b_builds_the_final_created_on_a(
    aiohttp_client: AiohttpClient, s3: S3Target
) -> None:
    done: list[str] = []
    a, b, store = await two_servers(aiohttp_client, s3, done)
    partial = await create(a, 3, headers={"Upload-Concat": "partial"})
    final = await a.post("/uploads", headers={**TUS, "Upload-Concat": f"final;{partial}"})
    assert final.status == 201
    final_path = path_of(final)
    final_id = final_path.rsplit("/", 1)[1]
    # B did not see the final created; the bucket tells it that the partial is needed
    refused = await b.delete(partial, headers=TUS)
    assert refused.status == 403
    assert (await patch(b, partial, 0, b"xyz")).status == 204
    assert final_id in done  # built by B right away, no HEAD on the final needed
    assert await store.bucket.read(store.keys(final_id).data) == b"xyz"
    assert await store.finals_waiting_for(partial.rsplit("/", 1)[1]) == []
    head = await a.head(final_path, headers=TUS)
    assert head.headers["Upload-Length"] == "3"
