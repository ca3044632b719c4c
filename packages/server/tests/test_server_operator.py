"""The operator endpoints of the library: health checks, Prometheus metrics, the access log."""

import json
import logging
import shutil
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient, AiohttpServer
from tus_server_testing import TUS, Client, Clock, MakeClient, create, patch

from tuskit_common import Locked, Resource, ServiceUnavailable
from tuskit_server import Expiration, Handler, Health, Hooks, MemoryLocker, setup_tus
from tuskit_server._expiry import sweep
from tuskit_server._setup import ENDPOINTS_KEY
from tuskit_server.access_log import LineWriter, access_log_options
from tuskit_server.locks import Lock
from tuskit_server.metrics import Metrics
from tuskit_server.stores.memory import MemoryStore


def samples(text: str) -> dict[str, float]:
    """``name{label="v",...}`` -> value, from a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


async def scrape(client: Client, path: str = "/metrics") -> dict[str, float]:
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(await response.text())


def deny_all(handler: Handler) -> Handler:
    async def denied(request: web.Request) -> web.StreamResponse:
        raise web.HTTPUnauthorized(text="no")

    return denied


async def test_health_is_off_unless_asked(client: Client) -> None:
    assert (await client.get("/healthz")).status == 404
    assert (await client.get("/readyz")).status == 404


async def test_health_answers_outside_the_decorator(make_client: MakeClient) -> None:
    client = await make_client(health=True, decorator=deny_all)
    assert (await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})).status == 401
    live = await client.get("/healthz")
    assert (live.status, await live.text()) == (200, "ok\n")
    ready = await client.get("/readyz")
    assert (ready.status, await ready.text()) == (200, "ready\n")


async def test_health_behind_the_decorator_when_asked(make_client: MakeClient) -> None:
    client = await make_client(
        health=Health(live="/live", ready="/ready", decorated=True), decorator=deny_all
    )
    assert (await client.get("/live")).status == 401
    assert (await client.get("/ready")).status == 401
    assert (await client.get("/healthz")).status == 404


async def test_not_ready_when_the_directory_is_gone(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = await make_client(health=True)
    assert (await client.get("/readyz")).status == 200
    shutil.rmtree(tmp_path / "up")
    (tmp_path / "up").write_text("")  # a file where the upload directory was
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.text()).startswith("not ready: ")
    assert (await client.get("/healthz")).status == 200  # alive, just not ready


class BrokenLocker(MemoryLocker):
    """A locker whose backend stopped answering."""

    def new_lock(self, upload_id: str) -> Lock:  # type: ignore[override]
        raise ConnectionError("the lock server is unreachable")


async def test_not_ready_when_the_locker_fails(make_client: MakeClient) -> None:
    client = await make_client(health=True, locker=BrokenLocker())
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert await ready.text() == "not ready: the lock server is unreachable\n"


class FailingStore(MemoryStore):
    """A store whose backend answers with an error (as S3Store does when S3 answers 503)."""

    async def get(self, upload_id: str) -> Resource:
        raise ServiceUnavailable("the object storage failed to read x.info: SlowDown")


async def test_not_ready_when_the_store_fails(make_client: MakeClient) -> None:
    client = await make_client(health=True, store=FailingStore())
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert await ready.text() == "not ready: the object storage failed to read x.info: SlowDown\n"


async def test_health_endpoints_are_shared_by_the_setups_of_one_app(
    aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path / "a", upload_url="/a", health=True)
    setup_tus(app, upload_path=tmp_path / "b", upload_url="/b", health=True)
    with pytest.raises(ValueError, match="alike"):
        setup_tus(app, upload_path=tmp_path / "c", upload_url="/c", health=Health(live="/x"))
    client = await aiohttp_client(app)
    assert (await client.get("/readyz")).status == 200


async def test_metrics_count_the_life_of_uploads(make_client: MakeClient, clock: Clock) -> None:
    metrics = Metrics()
    client = await make_client(metrics=metrics, expiration=Expiration(after=timedelta(hours=1)))
    finished = await create(client, 5)
    assert (await patch(client, finished, 0, b"hello")).status == 204
    assert (await patch(client, finished, 0, b"hello")).status == 409
    gone = await create(client, 5)
    assert (await patch(client, gone, 0, b"abc")).status == 204
    assert (await client.delete(gone, headers=TUS)).status == 204
    await create(client, 5)
    clock.advance(hours=2)
    [endpoint] = client.app[ENDPOINTS_KEY].values()
    assert await sweep(endpoint) == 1
    found = await scrape(client)
    assert found['tuskit_requests_total{method="POST",status="201"}'] == 3
    assert found['tuskit_requests_total{method="PATCH",status="204"}'] == 2
    assert found['tuskit_requests_total{method="PATCH",status="409"}'] == 1
    assert found['tuskit_requests_total{method="DELETE",status="204"}'] == 1
    assert found["tuskit_bytes_received_total"] == 8
    assert found["tuskit_uploads_created_total"] == 3
    assert found["tuskit_uploads_finished_total"] == 1
    assert found["tuskit_uploads_terminated_total"] == 1
    assert found["tuskit_uploads_expired_total"] == 1
    assert found["tuskit_uploads_in_progress"] == 0
    assert found["tuskit_lock_timeouts_total"] == 0


class TimingOutLocker(MemoryLocker):
    """Every upload looks busy and its lock never comes free."""

    def is_locked(self, upload_id: str) -> bool:
        return True

    def new_lock(self, upload_id: str) -> Lock:  # type: ignore[override]
        return TimingOutLock()


class TimingOutLock:
    async def acquire(self, *, wait: float, on_release: Callable[[], None]) -> None:
        raise Locked("the upload is busy")

    async def release(self) -> None:
        raise AssertionError("never acquired")


async def test_metrics_count_lock_waits_timeouts_and_hook_failures(
    make_client: MakeClient, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    async def broken(request: web.Request, resource: object) -> None:
        raise RuntimeError("the hook's backend is down")

    metrics = Metrics(path="/internal/metrics")
    client = await make_client(metrics=metrics, hooks=Hooks(post_create=broken))
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "5"})
    assert response.status == 500
    found = await scrape(client, "/internal/metrics")
    assert found['tuskit_hook_errors_total{hooktype="post_create"}'] == 1
    assert found['tuskit_requests_total{method="POST",status="500"}'] == 1

    locked = Metrics()
    app = web.Application()
    setup_tus(app, upload_path=tmp_path / "l", metrics=locked, locker=TimingOutLocker())
    busy = await aiohttp_client(app)
    assert (await patch(busy, "/uploads/abc", 0, b"x")).status == 423
    assert locked.registry.get_sample_value("tuskit_lock_waits_total") == 1
    assert locked.registry.get_sample_value("tuskit_lock_timeouts_total") == 1


async def test_metrics_are_served_outside_the_decorator_unless_asked(
    make_client: MakeClient, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    client = await make_client(metrics=Metrics(), decorator=deny_all)
    assert (await client.get("/metrics")).status == 200
    app = web.Application()
    setup_tus(app, upload_path=tmp_path, decorator=deny_all, metrics=Metrics(decorated=True))
    assert (await (await aiohttp_client(app)).get("/metrics")).status == 401


async def test_one_app_counts_into_one_metrics(tmp_path: Path) -> None:
    app = web.Application()
    shared = Metrics()
    setup_tus(app, upload_path=tmp_path / "a", upload_url="/a", metrics=shared)
    setup_tus(app, upload_path=tmp_path / "b", upload_url="/b", metrics=shared)
    with pytest.raises(ValueError, match="one Metrics"):
        setup_tus(app, upload_path=tmp_path / "c", upload_url="/c", metrics=Metrics())


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_access_log_has_one_line_per_request(
    aiohttp_server: AiohttpServer,
    aiohttp_client: AiohttpClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    log_format: str,
) -> None:
    app = web.Application()
    setup_tus(app, upload_path=tmp_path, health=True)
    options = access_log_options("json" if log_format == "json" else "text")
    server = await aiohttp_server(app, **options)
    client = cast(Client, await aiohttp_client(server))  # the server's app is ``app``
    caplog.set_level(logging.INFO, logger="tuskit_server.access")
    path = await create(client, 5)
    upload_id = path.rsplit("/", 1)[1]
    assert (await patch(client, path, 0, b"hello")).status == 204
    assert (await client.get("/healthz")).status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "tuskit_server.access"]
    assert len(lines) == 3
    if log_format == "json":
        entry = json.loads(lines[1])
        assert entry["method"] == "PATCH"
        assert entry["path"] == path
        assert entry["upload_id"] == upload_id
        assert entry["status"] == 204
        assert entry["bytes_received"] == 5
        assert entry["duration_ms"] >= 0
        assert json.loads(lines[0])["status"] == 201
        assert json.loads(lines[0])["upload_id"] == upload_id  # the created one
    else:
        assert f" PATCH {path} 204 id={upload_id} in=5 " in lines[1]
        assert lines[1].endswith("ms")
        assert f" POST /uploads 201 id={upload_id} in=0 " in lines[0]
        assert " GET /healthz 200 " in lines[2]


class GatedStream:
    """A stream whose writes wait until ``gate`` opens, like a stalled log reader."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.written: list[str] = []

    def write(self, text: str) -> int:
        assert self.gate.wait(30), "the gate never opened"
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_a_stalled_log_reader_never_blocks_the_caller() -> None:
    stream = GatedStream()
    writer = LineWriter(stream)  # type: ignore[arg-type]
    log = logging.getLogger("tuskit_server.tests.line_writer")
    log.propagate = False
    log.addHandler(writer)
    try:
        for number in range(3):
            log.warning("line %d", number)  # returns although nothing can be written
        assert stream.written == []
        stream.gate.set()
        writer.drain()
        assert stream.written == ["line 0\n", "line 1\n", "line 2\n"]
    finally:
        log.removeHandler(writer)
