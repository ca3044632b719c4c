"""Fixtures: a fake tus server per test and clients that never really sleep."""

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from fake_tus import FakeTus
from yarl import URL

from tuskit_client import Client, RetryConfiguration

ServerFactory = Callable[..., Awaitable[tuple[FakeTus, URL]]]


class Sleeps(list[float]):
    """Records the delays the client asked for instead of waiting."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def tus_server() -> AsyncIterator[ServerFactory]:
    servers: list[TestServer] = []

    async def start(**options: object) -> tuple[FakeTus, URL]:
        fake = FakeTus(**options)  # type: ignore[arg-type]
        server = TestServer(fake.app)
        await server.start_server()
        servers.append(server)
        return fake, server.make_url("/files/")

    yield start
    for server in servers:
        await server.close()


FAST = RetryConfiguration(retry_attempts=5, base_delay_seconds=0.0, max_retry_period_seconds=0.0)


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., Client]:
    def make(endpoint: URL | None = None, **options: object) -> Client:
        options.setdefault("config", FAST)
        return Client(endpoint, sleep=sleeps, random=lambda: 0.5, **options)  # type: ignore[arg-type]

    return make
