"""Fixtures for every integration test: server subprocesses and random test files.

- ``start_server(argv, ready=...)`` runs a server subprocess (see
  :func:`integration_tests.harness.running_server`) and stops it when the test ends.
- ``make_source(size)`` writes a file of ``size`` random bytes under ``tmp_path`` and returns
  a :class:`~integration_tests.harness.SourceFile` carrying its SHA-256.
- ``moto_s3`` is moto's S3 server (one per test module; each test makes its own bucket) and
  ``redis_server`` a redis-server of the test's own (it can be stopped and started again).
- ``api`` is the conformance table's raw-HTTP client on the ``endpoint`` fixture that each
  conformance runner module defines (tuskit-server, tusd).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path

import aiohttp
import pytest

from integration_tests.conformance import Api
from integration_tests.harness import (
    MakeSource,
    ReadyCheck,
    RunningServer,
    SourceFile,
    StartServer,
    make_file,
    running_server,
)
from integration_tests.redis_server import RedisServer, running_redis
from integration_tests.s3 import MotoS3, moto_s3_server


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start server subprocesses that are all stopped when the test ends."""
    with contextlib.ExitStack() as stack:
        count = 0

        def start(
            argv: Sequence[str],
            *,
            ready: ReadyCheck,
            env: Mapping[str, str] | None = None,
            cwd: Path | None = None,
        ) -> RunningServer:
            nonlocal count
            count += 1
            log_dir = tmp_path / f"server-logs-{count}"
            return stack.enter_context(
                running_server(argv, ready=ready, log_dir=log_dir, env=env, cwd=cwd)
            )

        yield start


@pytest.fixture
def make_source(tmp_path: Path) -> MakeSource:
    """Write files of random bytes for a test; each knows its SHA-256."""
    sources = tmp_path / "sources"
    sources.mkdir()

    def make(size: int, name: str | None = None) -> SourceFile:
        return make_file(sources / (name or f"source-{size}-{len(list(sources.iterdir()))}"), size)

    return make


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """moto's S3 server on a free loopback port for the module's tests."""
    with moto_s3_server(tmp_path_factory.mktemp("moto")) as moto:
        yield moto


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own on a free loopback port, stopped after."""
    with running_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def api(endpoint: str) -> AsyncIterator[Api]:
    """A raw-HTTP client on the module's server, with a session of its own per case."""
    async with aiohttp.ClientSession() as session:
        yield Api(session, endpoint)
