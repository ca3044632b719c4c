"""The raw-HTTP conformance table (:mod:`integration_tests.conformance`) against a tus server
on S3Store, itself on moto's S3 server: the same answers as on the FileStore."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from integration_tests.conformance import CASES, MAX_SIZE, Api
from integration_tests.harness import HttpProbe, free_port, running_server
from integration_tests.s3 import CREDENTIALS, moto_s3_server, tus_on_s3_argv


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One moto server and one tus server on S3Store for the whole table."""
    base = tmp_path_factory.mktemp("conformance-s3")
    with moto_s3_server(base / "moto") as moto:
        port = free_port()
        url = f"http://127.0.0.1:{port}/uploads"
        argv = tus_on_s3_argv(port, moto.url, moto.new_bucket(), "--max-size", str(MAX_SIZE))
        env = {**os.environ, **CREDENTIALS}
        with running_server(argv, ready=HttpProbe(url), log_dir=base, env=env) as server:
            yield server.url


@pytest.mark.parametrize("name", list(CASES))
async def test_conformance_on_s3(name: str, api: Api) -> None:
    await CASES[name](api)
