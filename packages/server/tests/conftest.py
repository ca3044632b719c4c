"""Fixtures: a tus app over a FileStore in a temporary directory, with a hand-moved clock;
a real server that pours large bodies with splice (:mod:`splice_testing`); an S3-compatible
service for the S3Store tests (:mod:`tus_s3_testing`)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer
from splice_testing import Serve, _server
from tus_s3_testing import S3Target, s3_target
from tus_server_testing import Client, Clock, MakeClient

from tuskit_server import setup_tus


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, tmp_path: Path, clock: Clock) -> MakeClient:
    """Build an app with ``setup_tus(app, upload_path=tmp_path/'up', clock=clock,
    file_names="id", **kw)``."""

    async def make(**kwargs: Any) -> Client:
        app = web.Application()
        kwargs.setdefault("upload_path", tmp_path / "up")
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("lock_timeout", 1.0)
        # These tests look at the store's own files; named files are tested on their own.
        kwargs.setdefault("file_names", "id")
        setup_tus(app, **kwargs)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


@pytest.fixture
def serve(aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, tmp_path: Path) -> Serve:
    """``await serve(**setup_tus_kwargs)``: a real server (see :func:`splice_testing._server`)
    and a client."""

    async def start(**kwargs: Any) -> tuple[TestServer, Client]:
        server = await _server(aiohttp_server, tmp_path, **kwargs)
        client: Client = await aiohttp_client(server)  # type: ignore[assignment]
        return server, client

    return start


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Target]:
    """moto's S3 server for the whole session (or the service ``TUSKIT_TEST_S3_*`` names)."""
    with s3_target() as target:
        yield target
