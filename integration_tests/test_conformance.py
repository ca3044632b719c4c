"""tus 1.0.0 conformance of tuskit-server, over raw HTTP: one test per MUST / SHOULD.

A table of cases (:data:`CASES`), each a small coroutine that speaks plain HTTP with aiohttp
(no tuskit-client) to ``python -m tuskit_server`` running on a free loopback port, and
checks one rule of the spec digest (``/work/shared/tus-protocol.md``, section in the case
name and docstring). Header names are spelled out on purpose: they are the independent check.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from integration_tests.harness import HttpProbe, free_port, running_server

V = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
MAX_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class Api:
    """Plain HTTP against one server; every helper returns the raw reply."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: str) -> None:
        self.session = session
        self.endpoint = endpoint

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        *,
        skip: tuple[str, ...] = ("Content-Type",),
    ) -> Reply:
        async with self.session.request(
            method, url, headers=dict(headers or {}), data=body, skip_auto_headers=skip
        ) as response:
            return Reply(response.status, response.headers, await response.read())

    async def create(self, length: int | None = 10, **headers: str) -> str:
        sent = {**V, **headers}
        if length is not None:
            sent["Upload-Length"] = str(length)
        reply = await self.request("POST", self.endpoint, sent)
        assert reply.status == 201, reply
        return reply.headers["Location"]

    async def head(self, url: str) -> Reply:
        return await self.request("HEAD", url, V)

    async def patch(self, url: str, offset: int, body: bytes, **headers: str) -> Reply:
        sent = {**V, "Upload-Offset": str(offset), "Content-Type": OCTETS, **headers}
        return await self.request("PATCH", url, sent, body)

    async def offset(self, url: str) -> int:
        reply = await self.head(url)
        assert reply.status in (200, 204), reply
        return int(reply.headers["Upload-Offset"])


Case = Callable[[Api], Awaitable[None]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(function: Case) -> Case:
        assert name not in CASES
        CASES[name] = function
        return function

    return register


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


# -- 1.2 OPTIONS ------------------------------------------------------------------------


@case("1.2-options-advertises-version-extensions-algorithms")
async def _(api: Api) -> None:
    """OPTIONS: 200/204 with Tus-Version (MUST); Tus-Checksum-Algorithm with sha1 when
    checksum is offered (MUST); Tus-Max-Size when a hard limit exists (SHOULD)."""
    reply = await api.request("OPTIONS", api.endpoint)
    assert reply.status in (200, 204)
    assert "1.0.0" in reply.headers["Tus-Version"].split(",")
    extensions = {e.strip() for e in reply.headers["Tus-Extension"].split(",")}
    assert {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
    } <= extensions
    assert {"checksum", "concatenation", "expiration"} <= extensions
    assert "sha1" in [a.strip() for a in reply.headers["Tus-Checksum-Algorithm"].split(",")]
    assert reply.headers["Tus-Max-Size"] == str(MAX_SIZE)


@case("1.2-options-ignores-an-unsupported-tus-resumable")
async def _(api: Api) -> None:
    """Servers MUST ignore Tus-Resumable on OPTIONS, even an unsupported value."""
    reply = await api.request("OPTIONS", api.endpoint, {"Tus-Resumable": "0.2.2"})
    assert reply.status in (200, 204)
    assert "Tus-Version" in reply.headers


# -- 1.1 Tus-Resumable ---------------------------------------------------------------


@case("1.1-post-without-tus-resumable-is-412-with-tus-version")
async def _(api: Api) -> None:
    """Missing Tus-Resumable: 412 + Tus-Version, and the request is not processed."""
    reply = await api.request("POST", api.endpoint, {"Upload-Length": "5"})
    assert reply.status == 412
    assert "1.0.0" in reply.headers["Tus-Version"]
    assert "Location" not in reply.headers


@case("1.1-head-without-tus-resumable-is-412")
async def _(api: Api) -> None:
    url = await api.create()
    reply = await api.request("HEAD", url)
    assert reply.status == 412


@case("1.1-patch-with-unsupported-version-is-412-and-not-processed")
async def _(api: Api) -> None:
    url = await api.create()
    reply = await api.patch(url, 0, b"12345", **{"Tus-Resumable": "0.2.2"})
    assert reply.status == 412
    assert await api.offset(url) == 0


@case("1.1-every-response-carries-tus-resumable")
async def _(api: Api) -> None:
    url = await api.create()
    for reply in (await api.head(url), await api.patch(url, 0, b"1")):
        assert reply.headers["Tus-Resumable"] == "1.0.0"


# -- 3.1 creation ---------------------------------------------------------------------


@case("3.1-post-creates-with-201-and-location")
async def _(api: Api) -> None:
    reply = await api.request("POST", api.endpoint, {**V, "Upload-Length": "10"})
    assert reply.status == 201
    assert reply.headers["Location"]
    assert await api.offset(reply.headers["Location"]) == 0


@case("3.1-post-without-any-length-is-400")
async def _(api: Api) -> None:
    assert (await api.request("POST", api.endpoint, V)).status == 400


@case("3.1-post-with-both-lengths-is-400")
async def _(api: Api) -> None:
    headers = {**V, "Upload-Length": "5", "Upload-Defer-Length": "1"}
    assert (await api.request("POST", api.endpoint, headers)).status == 400


@case("3.3-upload-defer-length-other-than-1-is-400")
async def _(api: Api) -> None:
    headers = {**V, "Upload-Defer-Length": "2"}
    assert (await api.request("POST", api.endpoint, headers)).status == 400


@case("3.1-length-over-tus-max-size-is-413")
async def _(api: Api) -> None:
    headers = {**V, "Upload-Length": str(MAX_SIZE + 1)}
    assert (await api.request("POST", api.endpoint, headers)).status == 413


@case("1.1-malformed-length-is-400")
async def _(api: Api) -> None:
    for bad in ("-1", "1.5", " 7 x", "+3", "12345678901234567890"):
        headers = {**V, "Upload-Length": bad}
        assert (await api.request("POST", api.endpoint, headers)).status == 400, bad


@case("2-malformed-metadata-is-400")
async def _(api: Api) -> None:
    for bad in ("key not-base64!", "a YQ==,a Yg==", "bad key YQ==", "k  YQ=="):
        headers = {**V, "Upload-Length": "1", "Upload-Metadata": bad}
        assert (await api.request("POST", api.endpoint, headers)).status == 400, bad


@case("3.1-upload-length-0-is-complete-at-creation")
async def _(api: Api) -> None:
    url = await api.create(0)
    reply = await api.head(url)
    assert (reply.headers["Upload-Offset"], reply.headers["Upload-Length"]) == ("0", "0")


# -- 1.2 HEAD -------------------------------------------------------------------------


@case("1.2-head-has-offset-length-no-store-and-metadata-verbatim")
async def _(api: Api) -> None:
    """HEAD MUST carry Upload-Offset, Upload-Length, Cache-Control: no-store, and
    Upload-Metadata exactly as sent (order and key-only pairs kept)."""
    metadata = f"z {_b64('Zürich'.encode())},a {_b64(b'1')},flag"
    url = await api.create(10, **{"Upload-Metadata": metadata})
    reply = await api.head(url)
    assert reply.status in (200, 204)
    assert reply.headers["Upload-Offset"] == "0"
    assert reply.headers["Upload-Length"] == "10"
    assert "no-store" in reply.headers["Cache-Control"]
    assert reply.headers["Upload-Metadata"] == metadata


@case("1.2-head-on-an-unknown-upload-is-404-without-offset")
async def _(api: Api) -> None:
    reply = await api.head(api.endpoint.rstrip("/") + "/0123456789abcdef0123456789abcdef")
    assert reply.status in (404, 410, 403)
    assert "Upload-Offset" not in reply.headers


@case("3.3-head-on-a-deferred-upload-has-defer-length-1")
async def _(api: Api) -> None:
    url = await api.create(None, **{"Upload-Defer-Length": "1"})
    reply = await api.head(url)
    assert reply.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in reply.headers


@case("1.2-head-keeps-answering-after-completion")
async def _(api: Api) -> None:
    url = await api.create(3)
    assert (await api.patch(url, 0, b"abc")).status == 204
    reply = await api.head(url)
    assert reply.status in (200, 204)
    assert (reply.headers["Upload-Offset"], reply.headers["Upload-Length"]) == ("3", "3")


# -- 1.2 PATCH ------------------------------------------------------------------------


@case("1.2-patch-is-204-with-the-new-offset")
async def _(api: Api) -> None:
    url = await api.create(10)
    reply = await api.patch(url, 0, b"12345")
    assert reply.status == 204
    assert reply.headers["Upload-Offset"] == "5"
    reply = await api.patch(url, 5, b"67890")
    assert (reply.status, reply.headers["Upload-Offset"]) == (204, "10")


@case("1.2-patch-without-the-tus-content-type-is-415-and-not-processed")
async def _(api: Api) -> None:
    url = await api.create(10)
    for content_type in ("application/octet-stream", None):
        headers = {**V, "Upload-Offset": "0"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        reply = await api.request("PATCH", url, headers, b"12345")
        assert reply.status == 415, content_type
    assert await api.offset(url) == 0


@case("1.2-patch-at-the-wrong-offset-is-409-and-nothing-changes")
async def _(api: Api) -> None:
    url = await api.create(10)
    await api.patch(url, 0, b"123")
    reply = await api.patch(url, 1, b"xxxx")
    assert reply.status == 409
    assert reply.headers["Upload-Offset"] == "3"  # tuskit: the current offset (1.1 SHOULD)
    assert await api.offset(url) == 3


@case("1.2-patch-to-an-unknown-upload-is-404")
async def _(api: Api) -> None:
    url = api.endpoint.rstrip("/") + "/0123456789abcdef0123456789abcdef"
    assert (await api.patch(url, 0, b"1")).status == 404


@case("1.2-patch-without-upload-offset-is-400")
async def _(api: Api) -> None:
    url = await api.create(10)
    headers = {**V, "Content-Type": OCTETS}
    assert (await api.request("PATCH", url, headers, b"1")).status == 400
    assert await api.offset(url) == 0


@case("1.2-patch-body-past-the-length-is-413")
async def _(api: Api) -> None:
    url = await api.create(4)
    assert (await api.patch(url, 0, b"12345")).status == 413
    assert await api.offset(url) == 0


@case("3.4-patch-response-carries-upload-expires")
async def _(api: Api) -> None:
    """Upload-Expires MUST be on every PATCH response while the upload can expire."""
    url = await api.create(10)
    reply = await api.patch(url, 0, b"123")
    assert reply.headers["Upload-Expires"].endswith(" GMT")


@case("4.6-x-http-method-override-patch-on-post")
async def _(api: Api) -> None:
    url = await api.create(4)
    headers = {**V, "Upload-Offset": "0", "Content-Type": OCTETS, "X-HTTP-Method-Override": "PATCH"}
    reply = await api.request("POST", url, headers, b"abcd")
    assert (reply.status, reply.headers["Upload-Offset"]) == (204, "4")


# -- 3.2 creation-with-upload ---------------------------------------------------------


@case("3.2-post-with-data-answers-with-upload-offset")
async def _(api: Api) -> None:
    headers = {**V, "Upload-Length": "10", "Content-Type": OCTETS}
    reply = await api.request("POST", api.endpoint, headers, b"123456")
    assert reply.status == 201
    assert reply.headers["Upload-Offset"] == "6"
    assert await api.offset(reply.headers["Location"]) == 6


# -- 3.3 creation-defer-length ----------------------------------------------------------


@case("3.3-length-declared-on-a-later-patch")
async def _(api: Api) -> None:
    url = await api.create(None, **{"Upload-Defer-Length": "1"})
    assert (await api.patch(url, 0, b"abc")).status == 204
    assert (await api.patch(url, 3, b"de", **{"Upload-Length": "5"})).status == 204
    reply = await api.head(url)
    assert (reply.headers["Upload-Offset"], reply.headers["Upload-Length"]) == ("5", "5")
    assert "Upload-Defer-Length" not in reply.headers


@case("3.3-zero-byte-patch-declaring-the-length-completes")
async def _(api: Api) -> None:
    url = await api.create(None, **{"Upload-Defer-Length": "1"})
    await api.patch(url, 0, b"abcd")
    assert (await api.patch(url, 4, b"", **{"Upload-Length": "4"})).status == 204
    assert (await api.head(url)).headers["Upload-Length"] == "4"


@case("3.3-length-below-the-offset-is-400")
async def _(api: Api) -> None:
    url = await api.create(None, **{"Upload-Defer-Length": "1"})
    await api.patch(url, 0, b"abcd")
    assert (await api.patch(url, 4, b"", **{"Upload-Length": "3"})).status == 400
    assert (await api.head(url)).headers["Upload-Defer-Length"] == "1"


@case("3.3-length-must-not-change-once-set")
async def _(api: Api) -> None:
    url = await api.create(10)
    assert (await api.patch(url, 0, b"ab", **{"Upload-Length": "12"})).status == 400
    assert await api.offset(url) == 0


# -- 3.5 checksum ---------------------------------------------------------------------


@case("3.5-matching-checksum-is-204")
async def _(api: Api) -> None:
    url = await api.create(5)
    digest = _b64(hashlib.sha1(b"hello").digest())
    reply = await api.patch(url, 0, b"hello", **{"Upload-Checksum": f"sha1 {digest}"})
    assert (reply.status, reply.headers["Upload-Offset"]) == (204, "5")


@case("3.5-checksum-mismatch-is-460-and-the-chunk-discarded")
async def _(api: Api) -> None:
    url = await api.create(10)
    await api.patch(url, 0, b"12")
    digest = _b64(hashlib.sha256(b"something else").digest())
    reply = await api.patch(url, 2, b"345", **{"Upload-Checksum": f"sha256 {digest}"})
    assert reply.status == 460
    assert await api.offset(url) == 2


@case("3.5-unknown-checksum-algorithm-is-400-and-the-chunk-discarded")
async def _(api: Api) -> None:
    url = await api.create(10)
    reply = await api.patch(url, 0, b"345", **{"Upload-Checksum": f"md4 {_b64(b'x' * 16)}"})
    assert reply.status == 400
    assert await api.offset(url) == 0


# -- 3.7 termination ------------------------------------------------------------------


@case("3.7-delete-is-204-and-the-upload-is-gone")
async def _(api: Api) -> None:
    url = await api.create(10)
    await api.patch(url, 0, b"12")
    assert (await api.request("DELETE", url, V)).status == 204
    assert (await api.head(url)).status in (404, 410)
    assert (await api.patch(url, 2, b"3")).status in (404, 410)


# -- 3.8 concatenation ----------------------------------------------------------------


async def _partials(api: Api, *parts: bytes) -> list[str]:
    urls = []
    for part in parts:
        url = await api.create(len(part), **{"Upload-Concat": "partial"})
        if part:
            assert (await api.patch(url, 0, part)).status == 204
        urls.append(url)
    return urls


@case("3.8-final-joins-partials-in-order")
async def _(api: Api) -> None:
    urls = await _partials(api, b"hello ", b"", b"world")
    concat = "final;" + " ".join(urls)
    headers = {**V, "Upload-Concat": concat, "Upload-Metadata": f"n {_b64(b'x')}"}
    reply = await api.request("POST", api.endpoint, headers)
    assert reply.status == 201
    final = reply.headers["Location"]
    head = await api.head(final)
    assert head.headers["Upload-Concat"] == concat
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("11", "11")
    assert (await api.request("GET", final)).body == b"hello world"


@case("3.8-patch-to-a-final-is-403")
async def _(api: Api) -> None:
    urls = await _partials(api, b"ab")
    headers = {**V, "Upload-Concat": "final;" + urls[0]}
    final = (await api.request("POST", api.endpoint, headers)).headers["Location"]
    assert (await api.patch(final, 2, b"c")).status == 403
    assert (await api.head(final)).headers["Upload-Offset"] == "2"


@case("3.8-final-with-upload-length-is-400")
async def _(api: Api) -> None:
    urls = await _partials(api, b"ab")
    headers = {**V, "Upload-Concat": "final;" + urls[0], "Upload-Length": "2"}
    assert (await api.request("POST", api.endpoint, headers)).status == 400


@case("3.8-final-naming-an-unknown-or-non-partial-upload-is-400")
async def _(api: Api) -> None:
    plain = await api.create(0)
    unknown = api.endpoint.rstrip("/") + "/0123456789abcdef0123456789abcdef"
    for bad in (plain, unknown):
        headers = {**V, "Upload-Concat": "final;" + bad}
        assert (await api.request("POST", api.endpoint, headers)).status == 400, bad


# -- 4.8 GET ----------------------------------------------------------------------------


@case("4.8-get-downloads-a-finished-upload-without-tus-resumable")
async def _(api: Api) -> None:
    url = await api.create(5)
    await api.patch(url, 0, b"bytes")
    reply = await api.request("GET", url)
    assert (reply.status, reply.body) == (200, b"bytes")


# -- the fixture and the one parametrized test ------------------------------------------


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One tuskit-server for the whole table: every case works on uploads of its own."""
    base = tmp_path_factory.mktemp("conformance")
    port = free_port()
    url = f"http://127.0.0.1:{port}/uploads"
    argv = [
        sys.executable,
        "-m",
        "tuskit_server",
        "--storage",
        str(base / "store"),
        "--base-path",
        "/uploads",
        "--port",
        str(port),
        "--max-size",
        str(MAX_SIZE),
    ]
    with running_server(argv, ready=HttpProbe(url), log_dir=Path(base)) as server:
        yield server.url


@pytest.fixture
async def api(endpoint: str) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, endpoint)


@pytest.mark.parametrize("name", list(CASES))
async def test_conformance(name: str, api: Api) -> None:
    await CASES[name](api)
