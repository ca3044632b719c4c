"""What is reflected from client input into response headers, sanitised. Pure, no I/O.

Download headers built from untrusted metadata (digest §4.8, security §7: ``filename`` is
display text, never a path; ``filetype`` only when it is a valid media type) and the origin
clients see behind a proxy (digest §3.1).
"""

import re
import unicodedata
from collections.abc import Mapping

from tuskit_common import Resource, headers

__all__ = ["download_headers", "external_origin", "safe_filename"]

#: Media types a download may be served ``inline`` (tusd's allow-list); others are attachments.
INLINE_TYPES = frozenset(
    {
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/webp",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/x-pn-wav",
        "audio/webm",
        "audio/ogg",
        "audio/mpeg",
        "video/webm",
        "video/ogg",
        "video/mp4",
    }
)
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")


def download_headers(resource: Resource) -> dict[str, str]:
    """Content-Type, Content-Disposition and nosniff for a download (digest §4.8)."""
    metadata = resource.metadata
    raw_type = metadata.get("filetype")
    content_type = "application/octet-stream"
    if raw_type:
        candidate = raw_type.decode("ascii", "replace").strip()
        if _MEDIA_TYPE.fullmatch(candidate):
            content_type = candidate.lower()
    disposition = "inline" if content_type in INLINE_TYPES else "attachment"
    name = safe_filename(metadata.get("filename"))
    if name:
        ascii_name = (
            unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        ) or "download"
        ascii_name = re.sub(r"[^A-Za-z0-9._ ()+-]", "_", ascii_name)
        disposition += f"; filename=\"{ascii_name}\"; filename*=UTF-8''{_rfc8187(name)}"
    return {
        headers.CONTENT_TYPE: content_type,
        headers.CONTENT_DISPOSITION: disposition,
        headers.X_CONTENT_TYPE_OPTIONS: "nosniff",
    }


def safe_filename(raw: bytes | None) -> str:
    """A display name from ``filename`` metadata: a basename without controls or quotes."""
    if not raw:
        return ""
    text = raw.decode("utf-8", "replace")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C" and c not in "\"'`;").strip(
        " ."
    )
    return text[:200]


def _rfc8187(text: str) -> str:
    """Percent-encode UTF-8 for an RFC 8187 ``filename*`` value."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")
    return "".join(chr(b) if chr(b) in allowed else f"%{b:02X}" for b in text.encode("utf-8"))


def external_origin(
    *,
    scheme: str,
    host: str,
    forwarded: Mapping[str, str] | None,
    forwarded_host: str | None,
    forwarded_proto: str | None,
) -> tuple[str, str]:
    """The scheme and host clients see, from proxy headers (digest §3.1 tuskit).

    ``Forwarded`` wins over ``X-Forwarded-*``; only ``http``/``https`` and well-formed hosts
    are taken; default ports are dropped. Callers pass proxy headers only when trusted.
    """
    new_scheme, new_host = scheme, host
    fwd_proto = (forwarded or {}).get("proto") or _first(forwarded_proto)
    fwd_host = (forwarded or {}).get("host") or _first(forwarded_host)
    if fwd_proto and fwd_proto.lower() in ("http", "https"):
        new_scheme = fwd_proto.lower()
    if fwd_host and _HOST.fullmatch(fwd_host):
        new_host = fwd_host
    default = (
        {"http": ":80", "https": ":443"}[new_scheme] if new_scheme in ("http", "https") else ""
    )
    if default and new_host.endswith(default):
        new_host = new_host[: -len(default)]
    return new_scheme, new_host


def _first(value: str | None) -> str | None:
    if value is None:
        return None
    return value.split(",", 1)[0].strip() or None
