"""HTTP hooks (tusd's ``-hooks-http``) against a real receiver on a loopback port: the JSON
tusd sends, the answers that reject or change an upload, retries and failures."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from tus_server_testing import TUS, MakeClient, b64, create, patch

from tuskit_server import HttpHooks
from tuskit_server.metrics import Metrics

Answer = Callable[[dict[str, Any]], web.Response]


@dataclass
class Receiver:
    """An aiohttp app that records every hook request and answers with ``answer``."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    answer: Answer = lambda _: web.json_response({})
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def types(self) -> list[str]:
        return [body["Type"] for body in self.seen]

    async def wait_for(self, count: int) -> None:
        """Until ``count`` hook requests arrived (post-hooks arrive in the background)."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.seen) >= count), 10)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        async with found.arrived:
            found.seen.append(body)
            found.arrived.notify_all()
        return found.answer(body)

    app = web.Application()
    app.router.add_post("/hooks", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    found.url = str(server.make_url("/hooks"))
    yield found
    await server.close()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ALL = ("pre-create", "post-create", "post-receive", "pre-finish", "post-finish")


async def test_each_event_is_posted_in_tusds_shape(
    make_client: MakeClient, receiver: Receiver, tmp_path: Path
) -> None:
    hooks = HttpHooks(receiver.url, events=ALL).hooks()
    client = await make_client(hooks=hooks)
    metadata = f"filename {b64('a.txt')},empty"
    path = await create(client, 4, headers={"Upload-Metadata": metadata, "X-Request-Id": "r1"})
    upload_id = path.rsplit("/", 1)[1]
    assert (await patch(client, path, 0, b"abcd")).status == 204
    await receiver.wait_for(5)
    by_type = {body["Type"]: body["Event"] for body in receiver.seen}
    assert set(by_type) == set(ALL)
    created = by_type["pre-create"]
    assert created["Upload"] == {
        "ID": "",
        "Size": 4,
        "SizeIsDeferred": False,
        "Offset": 0,
        "MetaData": {"filename": "a.txt", "empty": ""},
        "IsPartial": False,
        "IsFinal": False,
        "PartialUploads": None,
        "Storage": None,
    }
    request = created["HTTPRequest"]
    assert (request["Method"], request["URI"]) == ("POST", "/uploads")
    assert request["Header"]["Tus-Resumable"] == ["1.0.0"]
    assert request["Header"]["X-Request-Id"] == ["r1"]
    assert request["RemoteAddr"].startswith("127.0.0.1:")
    finished = by_type["post-finish"]
    assert finished["Upload"]["ID"] == upload_id
    assert finished["Upload"]["Offset"] == 4
    assert finished["HTTPRequest"]["Method"] == "PATCH"
    assert finished["HTTPRequest"]["URI"] == path
    assert hooks.aclose is not None
    await hooks.aclose()


async def test_a_deferred_length_is_null_and_flagged(
    make_client: MakeClient, receiver: Receiver
) -> None:
    client = await make_client(hooks=HttpHooks(receiver.url, events=["pre-create"]).hooks())
    await create(client, None)
    upload = receiver.seen[0]["Event"]["Upload"]
    assert (upload["Size"], upload["SizeIsDeferred"]) == (None, True)


async def test_pre_create_rejection_answers_the_receivers_status_and_body(
    make_client: MakeClient, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.answer = lambda _: web.json_response(
        {"RejectUpload": True, "HTTPResponse": {"StatusCode": 403, "Body": "uploads are closed"}}
    )
    client = await make_client(hooks=HttpHooks(receiver.url).hooks())
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "3"})
    assert response.status == 403
    assert await response.text() == "uploads are closed\n"
    assert not list((tmp_path / "up").glob("*.info"))


async def test_pre_create_rejection_without_details_is_400(
    make_client: MakeClient, receiver: Receiver
) -> None:
    receiver.answer = lambda _: web.json_response({"RejectUpload": True})
    client = await make_client(hooks=HttpHooks(receiver.url).hooks())
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "3"})
    assert response.status == 400
    assert await response.text() == "upload creation has been rejected by the server\n"


async def test_pre_create_changes_the_id_and_the_metadata(
    make_client: MakeClient, receiver: Receiver
) -> None:
    receiver.answer = lambda _: web.json_response(
        {"ChangeFileInfo": {"ID": "chosen-by-hook", "MetaData": {"owner": "ann"}}}
    )
    client = await make_client(hooks=HttpHooks(receiver.url, events=["pre-create"]).hooks())
    path = await create(client, 3, headers={"Upload-Metadata": f"filename {b64('x')}"})
    assert path == "/uploads/chosen-by-hook"
    head = await client.head(path, headers=TUS)
    assert head.headers["Upload-Metadata"] == f"owner {b64('ann')}"


async def test_pre_finish_and_pre_terminate_can_reject(
    make_client: MakeClient, receiver: Receiver
) -> None:
    def answer(body: dict[str, Any]) -> web.Response:
        if body["Type"] == "pre-finish":
            return web.json_response(
                {"RejectUpload": True, "HTTPResponse": {"StatusCode": 422, "Body": "virus"}}
            )
        if body["Type"] == "pre-terminate":
            return web.json_response({"RejectTermination": True})
        return web.json_response({})

    receiver.answer = answer
    client = await make_client(hooks=HttpHooks(receiver.url).hooks())
    path = await create(client, 2)
    finished = await patch(client, path, 0, b"ab")
    assert finished.status == 422
    assert await finished.text() == "virus\n"
    refused = await client.delete(path, headers=TUS)
    assert refused.status == 400
    assert await refused.text() == "upload termination has been rejected by the server\n"
    assert (await client.head(path, headers=TUS)).status == 200


async def test_an_unreachable_receiver_fails_a_pre_hook_with_500_and_counts_it(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    url = f"http://127.0.0.1:{free_port()}/hooks"
    hooks = HttpHooks(url, retry=1, backoff=0).hooks()
    client = await make_client(hooks=hooks, metrics=metrics)
    with caplog.at_level(logging.WARNING, logger="tuskit_server"):
        response = await client.post("/uploads", headers={**TUS, "Upload-Length": "3"})
    assert response.status == 500
    assert await response.text() == "the pre_create hook failed\n"
    errors = metrics.registry.get_sample_value(
        "tuskit_hook_errors_total", {"hooktype": "pre_create"}
    )
    assert errors == 1
    lines = [r.getMessage() for r in caplog.records if "pre-create hook failed" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("pre-create hook failed for a new upload: ")
    assert "cannot be reached" in lines[0]
    assert "tried 2 times" in lines[0]
    assert all(r.exc_info is None for r in caplog.records)


async def test_an_unreachable_receiver_never_delays_a_post_hook_and_is_counted(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    url = f"http://127.0.0.1:{free_port()}/hooks"
    hooks = HttpHooks(url, retry=2, backoff=0, events=["post-create"]).hooks()
    client = await make_client(hooks=hooks, metrics=metrics)
    with caplog.at_level(logging.WARNING, logger="tuskit_server"):
        response = await client.post("/uploads", headers={**TUS, "Upload-Length": "3"})
        assert response.status == 201
        assert hooks.aclose is not None
        await hooks.aclose()  # waits for the background delivery to give up
    labels = {"hooktype": "post_create"}
    assert metrics.registry.get_sample_value("tuskit_hook_errors_total", labels) == 1
    failed = [r.getMessage() for r in caplog.records if "post-create hook failed" in r.getMessage()]
    assert len(failed) == 1
    assert "tried 3 times" in failed[0]


async def test_a_5xx_is_retried_then_the_answer_counts(
    make_client: MakeClient, receiver: Receiver
) -> None:
    def flaky(body: dict[str, Any]) -> web.Response:
        if len(receiver.seen) < 3:
            return web.Response(status=503)
        return web.json_response({"ChangeFileInfo": {"ID": "third-time"}})

    receiver.answer = flaky
    hooks = HttpHooks(receiver.url, retry=3, backoff=0, events=["pre-create"]).hooks()
    client = await make_client(hooks=hooks)
    assert await create(client, 1) == "/uploads/third-time"
    assert receiver.types() == ["pre-create"] * 3


@pytest.mark.parametrize(
    "answer",
    [
        web.Response(status=404),
        web.Response(text="not json", content_type="text/plain"),
        web.json_response({"RejectUpload": True, "HTTPResponse": {"StatusCode": "403"}}),
        web.json_response(["not", "an", "object"]),
    ],
    ids=["4xx", "not-json", "bad-field", "not-an-object"],
)
async def test_a_bad_answer_fails_the_pre_hook_with_500(
    make_client: MakeClient, receiver: Receiver, answer: web.Response
) -> None:
    receiver.answer = lambda _: answer
    hooks = HttpHooks(receiver.url, retry=0, events=["pre-create"]).hooks()
    client = await make_client(hooks=hooks)
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "3"})
    assert response.status == 500
    assert len(receiver.seen) == 1  # only network errors and 5xx are retried


async def test_only_the_enabled_events_are_sent(
    make_client: MakeClient, receiver: Receiver
) -> None:
    hooks = HttpHooks(receiver.url, events=["post-finish"]).hooks()
    client = await make_client(hooks=hooks)
    path = await create(client, 2)
    await patch(client, path, 0, b"ab")
    assert hooks.aclose is not None
    await hooks.aclose()
    assert receiver.types() == ["post-finish"]


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="not a hook event"):
        HttpHooks("http://127.0.0.1:1/", events=["pre-upload"])
    with pytest.raises(ValueError, match="not an http"):
        HttpHooks("ftp://127.0.0.1/")
    with pytest.raises(ValueError, match="timeout"):
        HttpHooks("http://127.0.0.1:1/", timeout=0)
