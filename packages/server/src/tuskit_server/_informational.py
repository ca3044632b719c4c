"""Interim (1xx) responses written ahead of the final one, as ``_expect_continue`` writes
``100 Continue``: aiohttp has no API for other informational statuses, but its writer takes
raw bytes on the transport before the response is prepared.

Used for the IETF draft's ``104 Upload Resumption Supported``, which tells a client the
upload's URL before the body is read, so an interrupted creation can resume.
"""

from collections.abc import Mapping

from aiohttp import web
from aiohttp.http import HttpVersion11

from tuskit_common.ietf_draft import UPLOAD_RESUMPTION_SUPPORTED

__all__ = ["send_upload_resumption_supported"]

_REASON = "Upload Resumption Supported"


def interim_head(status: int, reason: str, fields: Mapping[str, str]) -> bytes | None:
    """The bytes of an HTTP/1.1 interim response; None when a value could split the head."""
    lines = [f"HTTP/1.1 {status} {reason}\r\n"]
    for name, value in fields.items():
        if any(c in value for c in "\r\n\0"):
            return None
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    try:
        return "".join(lines).encode("ascii")
    except UnicodeEncodeError:
        return None


async def send_upload_resumption_supported(request: web.Request, fields: Mapping[str, str]) -> bool:
    """Write ``104 Upload Resumption Supported`` with ``fields``; False when not sent (an
    HTTP/1.0 client cannot receive interim responses, RFC 9110 §15.2)."""
    if request.version != HttpVersion11:
        return False
    head = interim_head(UPLOAD_RESUMPTION_SUPPORTED, _REASON, fields)
    if head is None:
        return False
    await request.writer.write(head)
    request.writer.output_size = 0  # the access log counts the final response only
    return True
