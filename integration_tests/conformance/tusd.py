"""Where tusd v2.9.1 (filestore) answers the conformance table otherwise, and who follows the spec.

Each :class:`Difference` names a case of :data:`~integration_tests.conformance.CASES` and
holds a check of what tusd does instead. ``differs``: the case must fail on tusd and the
check must pass, so a tusd that changes turns the row red. ``varies``: tusd's answer changes
from run to run (Go map order), so the case would pass by chance; only the check, which pins
what never varies, runs. ``n.a.``: tusd lacks the extension the case is about; only the check
(that it is absent, and what tusd does with the header) runs. Every other case must pass on
tusd as it does on tuskit-server.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from integration_tests.conformance.api import MAX_SIZE, Api, Case, V, b64

#: What tusd's filestore announces in OPTIONS (no checksum, no expiration).
TUSD_EXTENSIONS = {
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "concatenation",
}


@dataclass(frozen=True, slots=True)
class Difference:
    """One row of the README's tuskit-versus-tusd table: kind, whose answer the spec backs
    (``tuskit`` or ``both``), and the check of tusd's answer."""

    kind: Literal["differs", "varies", "n.a."]
    follows_spec: Literal["tuskit", "both"]
    check: Case


async def _options_without_checksum_or_expiration(api: Api) -> None:
    """OPTIONS has the core headers but neither checksum nor expiration (optional)."""
    reply = await api.request("OPTIONS", api.endpoint)
    assert reply.status == 200
    assert reply.headers["Tus-Version"] == "1.0.0"
    assert set(reply.headers["Tus-Extension"].split(",")) == TUSD_EXTENSIONS
    assert "Tus-Checksum-Algorithm" not in reply.headers
    assert reply.headers["Tus-Max-Size"] == str(MAX_SIZE)


async def _412_without_tus_version(api: Api) -> None:
    """A missing or unsupported Tus-Resumable gets 412, but without the MUST Tus-Version."""
    for headers in ({"Upload-Length": "5"}, {"Upload-Length": "5", "Tus-Resumable": "0.2.2"}):
        reply = await api.request("POST", api.endpoint, headers)
        assert reply.status == 412
        assert "Tus-Version" not in reply.headers
        assert "Location" not in reply.headers
        assert reply.body.startswith(b"ERR_UNSUPPORTED_VERSION")


async def _head_skips_the_version_check(api: Api) -> None:
    """HEAD is answered 200 with the offset with no Tus-Resumable, or an unsupported one."""
    url = await api.create()
    for headers in ({}, {"Tus-Resumable": "0.2.2"}):
        reply = await api.request("HEAD", url, headers)
        assert (reply.status, reply.headers["Upload-Offset"]) == (200, "0")


async def _a_plus_sign_is_a_length(api: Api) -> None:
    """``+3`` is taken as 3 (Go's ``strconv.ParseInt``); the other malformed lengths get 400."""
    reply = await api.request("POST", api.endpoint, {**V, "Upload-Length": "+3"})
    assert reply.status == 201
    assert (await api.head(reply.headers["Location"])).headers["Upload-Length"] == "3"
    for bad in ("-1", "1.5", " 7 x", "12345678901234567890"):
        headers = {**V, "Upload-Length": bad}
        assert (await api.request("POST", api.endpoint, headers)).status == 400, bad


async def _bad_metadata_pairs_are_dropped(api: Api) -> None:
    """Malformed metadata is accepted: bad pairs vanish silently, the last duplicate wins."""
    echoes = {"key not-base64!": None, "a YQ==,a Yg==": "a Yg==", "bad key YQ==": None}
    echoes["k  YQ=="] = None
    for sent, echoed in echoes.items():
        headers = {**V, "Upload-Length": "1", "Upload-Metadata": sent}
        reply = await api.request("POST", api.endpoint, headers)
        assert reply.status == 201, sent
        head = await api.head(reply.headers["Location"])
        assert head.headers.get("Upload-Metadata") == echoed, sent


async def _metadata_rebuilt_on_head(api: Api) -> None:
    """HEAD rebuilds Upload-Metadata from a map: pairs in random order, a key-only pair
    written ``flag `` (trailing space), so ``flag,z ...`` never comes back as sent."""
    sent = f"flag,z {b64('Zürich'.encode())}"
    url = await api.create(10, **{"Upload-Metadata": sent})
    reply = await api.head(url)
    assert (reply.headers["Upload-Offset"], reply.headers["Upload-Length"]) == ("0", "10")
    assert "no-store" in reply.headers["Cache-Control"]
    # aiohttp strips the trailing space of the header as a whole.
    assert reply.headers["Upload-Metadata"] in (
        f"flag ,z {b64('Zürich'.encode())}",
        f"z {b64('Zürich'.encode())},flag",
    )


async def _wrong_content_type_is_400(api: Api) -> None:
    """A PATCH without the tus Content-Type gets 400 (not the SHOULD 415); nothing stored."""
    url = await api.create(10)
    for content_type in ("application/octet-stream", None):
        headers = {**V, "Upload-Offset": "0"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        reply = await api.request("PATCH", url, headers, b"12345")
        assert reply.status == 400, content_type
        assert reply.body.startswith(b"ERR_INVALID_CONTENT_TYPE")
    assert await api.offset(url) == 0


async def _409_without_the_offset(api: Api) -> None:
    """A PATCH at the wrong offset gets 409 and changes nothing, without Upload-Offset."""
    url = await api.create(10)
    await api.patch(url, 0, b"123")
    reply = await api.patch(url, 1, b"xxxx")
    assert reply.status == 409
    assert "Upload-Offset" not in reply.headers
    assert await api.offset(url) == 3


async def _no_expiration(api: Api) -> None:
    """No expiration extension: a PATCH reply carries no Upload-Expires."""
    url = await api.create(10)
    reply = await api.patch(url, 0, b"123")
    assert reply.status == 204
    assert "Upload-Expires" not in reply.headers


async def _checksum_is_ignored(api: Api) -> None:
    """No checksum extension: Upload-Checksum is ignored, a wrong digest and an unknown
    algorithm alike; the chunk is stored."""
    url = await api.create(10)
    wrong = b64(hashlib.sha1(b"something else").digest())
    reply = await api.patch(url, 0, b"12", **{"Upload-Checksum": f"sha1 {wrong}"})
    assert (reply.status, reply.headers["Upload-Offset"]) == (204, "2")
    reply = await api.patch(url, 2, b"345", **{"Upload-Checksum": f"md4 {b64(b'x' * 16)}"})
    assert (reply.status, reply.headers["Upload-Offset"]) == (204, "5")


async def _final_ignores_upload_length(api: Api) -> None:
    """A final with Upload-Length is created; the length sent is ignored for the partials' sum."""
    partial = await api.create(2, **{"Upload-Concat": "partial"})
    assert (await api.patch(partial, 0, b"ab")).status == 204
    headers = {**V, "Upload-Concat": f"final;{partial}", "Upload-Length": "7"}
    reply = await api.request("POST", api.endpoint, headers)
    assert reply.status == 201
    head = await api.head(reply.headers["Location"])
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("2", "2")


async def _final_takes_any_upload(api: Api) -> None:
    """A final naming a finished non-partial upload concatenates it; an unknown one is 404."""
    plain = await api.create(3)
    await api.patch(plain, 0, b"xyz")
    reply = await api.request("POST", api.endpoint, {**V, "Upload-Concat": f"final;{plain}"})
    assert reply.status == 201
    assert (await api.request("GET", reply.headers["Location"])).body == b"xyz"
    unknown = api.endpoint.rstrip("/") + "/0123456789abcdef0123456789abcdef"
    reply = await api.request("POST", api.endpoint, {**V, "Upload-Concat": f"final;{unknown}"})
    assert reply.status == 404


TUSD: dict[str, Difference] = {
    "1.2-options-advertises-version-extensions-algorithms": Difference(
        "n.a.", "both", _options_without_checksum_or_expiration
    ),
    "1.1-post-without-tus-resumable-is-412-with-tus-version": Difference(
        "differs", "tuskit", _412_without_tus_version
    ),
    "1.1-head-without-tus-resumable-is-412": Difference(
        "differs", "tuskit", _head_skips_the_version_check
    ),
    "1.1-malformed-length-is-400": Difference("differs", "both", _a_plus_sign_is_a_length),
    "2-malformed-metadata-is-400": Difference("differs", "both", _bad_metadata_pairs_are_dropped),
    "1.2-head-has-offset-length-no-store-and-metadata-verbatim": Difference(
        "varies", "tuskit", _metadata_rebuilt_on_head
    ),
    "1.2-patch-without-the-tus-content-type-is-415-and-not-processed": Difference(
        "differs", "tuskit", _wrong_content_type_is_400
    ),
    "1.2-patch-at-the-wrong-offset-is-409-and-nothing-changes": Difference(
        "differs", "both", _409_without_the_offset
    ),
    "3.4-patch-response-carries-upload-expires": Difference("n.a.", "both", _no_expiration),
    "3.5-matching-checksum-is-204": Difference("n.a.", "both", _checksum_is_ignored),
    "3.5-checksum-mismatch-is-460-and-the-chunk-discarded": Difference(
        "n.a.", "both", _checksum_is_ignored
    ),
    "3.5-unknown-checksum-algorithm-is-400-and-the-chunk-discarded": Difference(
        "n.a.", "both", _checksum_is_ignored
    ),
    "3.8-final-with-upload-length-is-400": Difference(
        "differs", "both", _final_ignores_upload_length
    ),
    "3.8-final-naming-an-unknown-or-non-partial-upload-is-400": Difference(
        "differs", "both", _final_takes_any_upload
    ),
}
