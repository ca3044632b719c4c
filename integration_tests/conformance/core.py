"""Conformance cases of the core protocol: OPTIONS, Tus-Resumable, creation, HEAD, PATCH.

One case per MUST / SHOULD of the spec digest (``/work/shared/tus-protocol.md``, section in
the case name and docstring).
"""

from __future__ import annotations

from integration_tests.conformance.api import MAX_SIZE, OCTETS, Api, V, b64, case

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
    metadata = f"z {b64('Zürich'.encode())},a {b64(b'1')},flag"
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
