"""Strict standard Base64, shared by the metadata and checksum codecs. Pure, no I/O."""

import base64
import binascii
import re

_STRICT = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def decode_strict(text: str) -> bytes | None:
    """Decode standard, padded Base64, or return None when ``text`` is not exactly that."""
    if not _STRICT.fullmatch(text):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:  # pragma: no cover - the pattern already excludes these
        return None


def encode(data: bytes) -> str:
    """Encode bytes as standard, padded Base64 text."""
    return base64.b64encode(data).decode("ascii")
