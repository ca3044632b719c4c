"""Per-server limits (issue 21): bytes stored, uploads in progress, creations per client
address per minute."""

import asyncio

import pytest
from aiohttp import ClientResponse, web
from tus_server_testing import TUS, Client, MakeClient, create, patch

from tuskit_server import Limits, MemoryStore, setup_tus
from tuskit_server._setup import ENDPOINTS_KEY


async def _post(client: Client, length: int) -> ClientResponse:
    return await client.post("/uploads", headers={**TUS, "Upload-Length": str(length)})


async def test_creations_per_address_per_minute_get_429_with_retry_after(
    make_client: MakeClient,
) -> None:
    client = await make_client(limits=Limits(creations_per_minute=2))
    assert (await _post(client, 1)).status == 201
    assert (await _post(client, 1)).status == 201
    refused = await _post(client, 1)
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await refused.text()).count("\n") == 1


async def test_uploads_in_progress_are_capped_until_one_finishes(make_client: MakeClient) -> None:
    client = await make_client(limits=Limits(max_uploads_in_progress=2, recount_every=0.05))
    first = await create(client, 3)
    await create(client, 3)
    refused = await _post(client, 3)
    assert refused.status == 503
    assert "Retry-After" in refused.headers
    assert (await patch(client, first, 0, b"abc")).status == 204  # one finished
    await asyncio.sleep(0.3)  # the next count sees it
    assert (await _post(client, 3)).status == 201


async def test_stored_bytes_are_capped_and_freed_by_termination(make_client: MakeClient) -> None:
    client = await make_client(limits=Limits(max_stored_bytes=100, recount_every=0.05))
    big = await create(client, 60)
    refused = await _post(client, 50)
    assert refused.status == 507
    assert (await _post(client, 40)).status == 201  # what is left fits
    assert (await client.delete(big, headers=TUS)).status == 204
    await asyncio.sleep(0.3)
    assert (await _post(client, 50)).status == 201
    endpoint = client.app[ENDPOINTS_KEY]["/uploads"]
    assert endpoint.quota is not None
    assert endpoint.quota.reserved_bytes == 90


def test_store_limits_need_a_store_that_counts() -> None:
    with pytest.raises(ValueError, match="counts"):
        setup_tus(web.Application(), store=MemoryStore(), limits=Limits(max_stored_bytes=1))
    setup_tus(web.Application(), store=MemoryStore(), limits=Limits(creations_per_minute=1))
