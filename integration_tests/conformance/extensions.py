"""Conformance cases of the extensions and of download: creation-with-upload, defer-length,
checksum, termination, concatenation, GET.

One case per MUST / SHOULD of the spec digest (``/work/shared/tus-protocol.md``, section in
the case name and docstring).
"""

from __future__ import annotations

import hashlib

from integration_tests.conformance.api import OCTETS, Api, V, b64, case

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
    digest = b64(hashlib.sha1(b"hello").digest())
    reply = await api.patch(url, 0, b"hello", **{"Upload-Checksum": f"sha1 {digest}"})
    assert (reply.status, reply.headers["Upload-Offset"]) == (204, "5")


@case("3.5-checksum-mismatch-is-460-and-the-chunk-discarded")
async def _(api: Api) -> None:
    url = await api.create(10)
    await api.patch(url, 0, b"12")
    digest = b64(hashlib.sha256(b"something else").digest())
    reply = await api.patch(url, 2, b"345", **{"Upload-Checksum": f"sha256 {digest}"})
    assert reply.status == 460
    assert await api.offset(url) == 2


@case("3.5-unknown-checksum-algorithm-is-400-and-the-chunk-discarded")
async def _(api: Api) -> None:
    url = await api.create(10)
    reply = await api.patch(url, 0, b"345", **{"Upload-Checksum": f"md4 {b64(b'x' * 16)}"})
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
    headers = {**V, "Upload-Concat": concat, "Upload-Metadata": f"n {b64(b'x')}"}
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
