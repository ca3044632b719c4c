"""tus-js-client in its IETF draft modes uploads to ``tus serve --ietf-draft``, and to tusd with
``-enable-experimental-protocol`` for the same jobs.

tus-js-client 4.3.1's ``ietf-draft-03`` sends interop version 5 and ``ietf-draft-05`` sends 6
(the latter with ``application/partial-upload`` appends). Every case checks the stored bytes
by SHA-256, that every request spoke the draft (no ``Tus-Resumable``) and, for the
interrupted upload, that the second run resumed with HEAD and no new creation.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import pytest

from integration_tests.harness import (
    MakeSource,
    SourceFile,
    StartServer,
    sha256_file,
)
from integration_tests.peers.client_cases import EXPECTED, Case, MiB, job_for
from integration_tests.peers.drivers import (
    PeerClient,
    PeerMissing,
    PeerServer,
    PeerServerHandle,
    RunPeerClient,
    TuskitServerHandle,
    server_command,
    start_tuskit_server,
)

pytestmark = pytest.mark.peers

#: tus-js-client's protocol option -> the interop version it announces.
PROTOCOLS = {"ietf-draft-03": "5", "ietf-draft-05": "6"}
CASES: dict[str, Case] = {
    "small": Case(PeerClient.TUS_JS_CLIENT, 1000),
    "empty": Case(PeerClient.TUS_JS_CLIENT, 0),
    "multi-chunk": Case(PeerClient.TUS_JS_CLIENT, 5 * MiB + 3, {"chunkSize": MiB}),
    "uploadDataDuringCreation": Case(
        PeerClient.TUS_JS_CLIENT, 3 * MiB, {"uploadDataDuringCreation": True, "chunkSize": MiB}
    ),
    "resume-after-abort": Case(
        PeerClient.TUS_JS_CLIENT, 4 * MiB, {"chunkSize": MiB, "abortAfterBytes": MiB}
    ),
}

#: Every case in every protocol, as ``<case>-<protocol>``; both servers get the same jobs.
DRAFT_JOBS = pytest.mark.parametrize(
    ("name", "protocol"), [(name, protocol) for name in CASES for protocol in PROTOCOLS]
)


@pytest.fixture
def tuskit_draft_server(start_server: StartServer, tmp_path: Path) -> TuskitServerHandle:
    """``python -m tuskit_server --ietf-draft`` on a free loopback port."""
    return start_tuskit_server(start_server, tmp_path / "store-tuskit", "--ietf-draft")


@pytest.fixture
def tusd_draft_server(start_server: StartServer, tmp_path: Path) -> PeerServerHandle:
    """tusd v2.9.1 with its experimental IETF draft support switched on."""
    directory = tmp_path / "store-tusd"
    directory.mkdir()
    try:
        command = server_command(PeerServer.TUSD, directory)
    except PeerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    argv = [*command.argv, "-enable-experimental-protocol"]
    running = start_server(argv, ready=command.ready, cwd=command.cwd)
    return PeerServerHandle(PeerServer.TUSD, running.url, directory, running)


def _check_draft_requests(result: dict[str, Any], protocol: str, case: Case) -> None:
    """Every request announced the interop version and none spoke tus 1.0.0; a resumed
    upload went on with HEAD and PATCHes at the stored URL."""
    requests = result["requests"] + result.get("resume", [])
    for request in requests:
        assert request["headers"].get("Upload-Draft-Interop-Version") == PROTOCOLS[protocol]
        assert "Tus-Resumable" not in request["headers"]
    # tus-js-client 4.3.1 sends Upload-Complete: ?1 only when its source said "done" with the
    # chunk; a file read in chunks ends with a ?0 append that reaches Upload-Length.
    completing = [r for r in requests if r["headers"].get("Upload-Complete") == "?1"]
    assert len(completing) <= 1, requests
    if protocol == "ietf-draft-05":
        patches = [r for r in requests if r["method"] == "PATCH"]
        assert all(r["headers"]["Content-Type"] == "application/partial-upload" for r in patches)
    if "abortAfterBytes" in case.options:
        assert result["url"] == result["abortedUrl"]
        assert [r["method"] for r in result["resume"]][:1] == ["HEAD"]
        assert all(r["method"] != "POST" for r in result["resume"])


async def _draft_head(url: str, version: str) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.head(url, headers={"Upload-Draft-Interop-Version": version}) as response,
    ):
        return response.status, dict(response.headers)


class RunDraftJob(Protocol):
    async def __call__(
        self, case: Case, protocol: str, url: str
    ) -> tuple[dict[str, Any], SourceFile]: ...


@pytest.fixture
def run_draft_job(
    run_peer_client: RunPeerClient, make_source: MakeSource, tmp_path: Path
) -> RunDraftJob:
    """Run one case's job with tus-js-client in ``protocol`` against ``url``: both servers get
    exactly the same job, so their tests differ only in what they check afterwards."""

    async def run(case: Case, protocol: str, url: str) -> tuple[dict[str, Any], SourceFile]:
        source = make_source(case.size)
        job = job_for(case, url, [source.path], tmp_path)
        job["protocol"] = protocol
        result = await run_peer_client(case.peer, job)
        assert result["ok"], result
        return result, source

    return run


@DRAFT_JOBS
async def test_tus_js_client_draft_to_tuskit_server(
    name: str,
    protocol: str,
    tuskit_draft_server: TuskitServerHandle,
    run_draft_job: RunDraftJob,
) -> None:
    case = CASES[name]
    result, source = await run_draft_job(case, protocol, tuskit_draft_server.url)

    url = result["url"]
    info = await tuskit_draft_server.info(url)
    assert (info.offset, info.length) == (case.size, case.size)
    assert sha256_file(tuskit_draft_server.data(url)) == source.sha256
    assert info.metadata == EXPECTED
    status, headers = await _draft_head(url, PROTOCOLS[protocol])
    assert status == 204
    assert (headers["Upload-Offset"], headers["Upload-Complete"]) == (str(case.size), "?1")
    _check_draft_requests(result, protocol, case)


@DRAFT_JOBS
async def test_tus_js_client_draft_to_tusd(
    name: str,
    protocol: str,
    tusd_draft_server: PeerServerHandle,
    run_draft_job: RunDraftJob,
) -> None:
    """The same jobs against tusd: the reference for what a draft client sees elsewhere."""
    case = CASES[name]
    result, source = await run_draft_job(case, protocol, tusd_draft_server.url)

    assert sha256_file(tusd_draft_server.stored(result["url"])) == source.sha256
    _check_draft_requests(result, protocol, case)


# -- the same raw draft requests to both servers (interop version 6, tusd's newest) ----------

Response = tuple[int, dict[str, str], bytes]
V6 = {"Upload-Draft-Interop-Version": "6"}
PARTIAL = {**V6, "Content-Type": "application/partial-upload"}


async def _exchange(
    url: str, method: str, fields: dict[str, str], body: bytes = b""
) -> list[Response]:
    """Send one raw request; every response to it, interim ones first (aiohttp hides those)."""
    parsed = urlsplit(url)
    assert parsed.hostname is not None
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    sent = {
        "Host": parsed.netloc,
        "Connection": "close",
        "Content-Length": str(len(body)),
        **fields,
    }
    head = f"{method} {parsed.path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in sent.items()
    )
    writer.write(head.encode() + b"\r\n" + body)
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    responses: list[Response] = []
    while raw:
        block, _, raw = raw.partition(b"\r\n\r\n")
        lines = block.decode("latin-1").split("\r\n")
        found = dict(line.split(": ", 1) for line in lines[1:])
        status = int(lines[0].split(" ", 2)[1])
        length = int(found.get("Content-Length", "0")) if status >= 200 else 0
        responses.append((status, found, raw[:length]))
        raw = raw[length:]
    return responses


async def _created(endpoint: str) -> str:
    """An upload holding ``abc`` of unknown length, created with interop version 6."""
    answers = await _exchange(endpoint, "POST", {**PARTIAL, "Upload-Complete": "?0"}, b"abc")
    status, fields, _ = answers[-1]
    assert status == 201, answers
    return fields["Location"]


async def _completed(endpoint: str) -> str:
    url = await _created(endpoint)
    fields = {**PARTIAL, "Upload-Complete": "?1", "Upload-Offset": "3"}
    assert (await _exchange(url, "PATCH", fields, b"de"))[-1][0] == 204
    return url


def _problem(response: Response) -> str | None:
    if response[1].get("Content-Type") != "application/problem+json":
        return None
    return str(json.loads(response[2])["type"]).rsplit("#", 1)[1]


async def _compare(name: str, endpoint: str) -> tuple[object, ...]:
    """What one server answers to the case ``name``: statuses, and the telling details."""
    if name == "creation with a body":
        answers = await _exchange(endpoint, "POST", {**PARTIAL, "Upload-Complete": "?0"}, b"abc")
        locations = {a[1].get("Location") for a in answers}
        return tuple(a[0] for a in answers), len(locations) == 1
    if name == "offset retrieval":
        ((status, fields, _),) = await _exchange(await _created(endpoint), "HEAD", V6)
        return status, fields.get("Upload-Offset"), fields.get("Upload-Complete")
    if name == "mismatching offset":
        url = await _created(endpoint)
        fields = {**PARTIAL, "Upload-Complete": "?0", "Upload-Offset": "1"}
        ((status, answer, body),) = await _exchange(url, "PATCH", fields, b"x")
        return status, answer.get("Upload-Offset"), _problem((status, answer, body))
    if name == "append without application/partial-upload":
        url = await _created(endpoint)
        fields = {**V6, "Upload-Complete": "?0", "Upload-Offset": "3"}
        return (
            (await _exchange(url, "PATCH", {**fields, "Content-Type": "text/plain"}, b"x"))[0][0],
        )
    if name in ("data appended to a completed upload", "empty append to a completed upload"):
        url = await _completed(endpoint)
        body = b"z" if name.startswith("data") else b""
        fields = {**PARTIAL, "Upload-Complete": "?1", "Upload-Offset": "5"}
        (reply,) = await _exchange(url, "PATCH", fields, body)
        return reply[0], _problem(reply)
    if name == "creation without an interop version (the latest text)":
        return ((await _exchange(endpoint, "POST", {"Upload-Complete": "?1"}, b"abc"))[-1][0],)
    if name == "cancellation":
        return ((await _exchange(await _created(endpoint), "DELETE", V6))[0][0],)
    raise AssertionError(name)


#: case -> (tuskit-server's answer, tusd's answer)
RAW_CASES: dict[str, tuple[tuple[object, ...], tuple[object, ...]]] = {
    "creation with a body": (((104, 201), True), ((104, 201), True)),
    "offset retrieval": ((204, "3", "?0"), (204, "3", "?0")),
    "mismatching offset": ((409, "3", "mismatching-upload-offset"), (409, None, None)),
    "append without application/partial-upload": ((415,), (400,)),
    "data appended to a completed upload": ((400, "inconsistent-upload-length"), (204, None)),
    "empty append to a completed upload": ((400, "completed-upload"), (204, None)),
    "creation without an interop version (the latest text)": ((201,), (412,)),
    "cancellation": ((204,), (204,)),
}


@pytest.mark.parametrize("name", list(RAW_CASES))
async def test_raw_draft_requests_tuskit_server_and_tusd(
    name: str, tuskit_draft_server: TuskitServerHandle, tusd_draft_server: PeerServerHandle
) -> None:
    """Where the two differ, tuskit-server follows the draft text (README's table says which
    clause); tusd v2.9.1 predates the problem types in its experimental mode."""
    tuskit_expected, tusd_expected = RAW_CASES[name]
    assert await _compare(name, tuskit_draft_server.url) == tuskit_expected
    assert await _compare(name, tusd_draft_server.url) == tusd_expected
