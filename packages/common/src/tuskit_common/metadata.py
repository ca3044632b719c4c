"""The ``Upload-Metadata`` codec (spec §creation "Upload-Metadata"). Pure, no I/O.

The header is a comma-separated list of ``key base64value`` pairs; a key may stand alone
when its value is empty. Values are bytes, not necessarily UTF-8, and a key-only entry is
``None``. Parsing is strict: one bad pair rejects the whole header with a
:class:`MetadataError` that names the pair, because silently dropping pairs (as tusd does)
loses data the client meant to send.

The wire cannot tell an empty value from a key-only entry (``key`` and ``key `` are the same
once whitespace around list elements is stripped), so ``b""`` encodes as key-only and decodes
back as ``None``. Every other mapping round-trips exactly.
"""

from collections.abc import Mapping
from typing import TypeAlias

from tuskit_common._base64 import decode_strict, encode
from tuskit_common.errors import MetadataError

#: Metadata as both sides handle it: key -> raw bytes, or None for a key-only entry.
Metadata: TypeAlias = Mapping[str, bytes | None]

#: Default cap on the raw header, in bytes of its UTF-8 form.
DEFAULT_MAX_SIZE = 4096
#: Default cap on the number of pairs.
DEFAULT_MAX_PAIRS = 256

_OWS = " \t"


def _key_problem(key: str) -> str | None:
    """Say what is wrong with a metadata key, or None when it is valid."""
    if not key:
        return "empty key"
    for char in key:
        code = ord(char)
        if char == " ":
            return "spaces are not allowed in a key"
        if char == ",":
            return "commas are not allowed in a key"
        if code < 0x21 or code == 0x7F:
            return "control character in key"
        if code > 0x7E:
            return "non-ASCII character in key (only ASCII characters are allowed)"
    return None


def decode_metadata(
    header: str | None,
    *,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_pairs: int | None = DEFAULT_MAX_PAIRS,
) -> dict[str, bytes | None]:
    """Decode an ``Upload-Metadata`` header.

    Args:
        header: the raw value; None or blank means no metadata.
        max_size: reject headers longer than this many UTF-8 bytes (None: no cap).
        max_pairs: reject headers with more pairs than this (None: no cap).

    Returns:
        A new dict, in header order, of key -> bytes (or None for a key-only entry).

    Raises:
        MetadataError: the header is too large, or one pair is malformed (the message
            quotes it): empty key, space, comma, control or non-ASCII byte in a key, more
            than one space in a pair, a value that is not strict Base64, a duplicate key.
    """
    if header is None:
        return {}
    if max_size is not None and len(header.encode("utf-8", "surrogatepass")) > max_size:
        raise MetadataError(f"Upload-Metadata is larger than {max_size} bytes")
    result: dict[str, bytes | None] = {}
    for element in header.split(","):
        pair = element.strip(_OWS)
        if not pair:
            continue  # RFC 9110 list syntax tolerates empty elements
        parts = pair.split(" ")
        if len(parts) > 2:
            raise MetadataError(f"Upload-Metadata pair {pair!r} has more than one space")
        key = parts[0]
        problem = _key_problem(key)
        if problem is not None:
            raise MetadataError(f"Upload-Metadata pair {pair!r}: {problem}")
        if key in result:
            raise MetadataError(f"Upload-Metadata pair {pair!r}: duplicate key {key!r}")
        if len(parts) == 1:
            result[key] = None
        else:
            value = decode_strict(parts[1])
            if value is None:
                raise MetadataError(f"Upload-Metadata pair {pair!r}: value is not valid base64")
            result[key] = value if value else None
        if max_pairs is not None and len(result) > max_pairs:
            raise MetadataError(f"Upload-Metadata has more than {max_pairs} pairs")
    return result


def encode_metadata(metadata: Metadata, *, max_size: int | None = None) -> str:
    """Encode a mapping as an ``Upload-Metadata`` header value.

    Args:
        metadata: key -> bytes, or None (or ``b""``) for a key-only entry.
        max_size: reject results longer than this many bytes (None: no cap).

    Returns:
        The header value, pairs in the mapping's order; ``""`` for an empty mapping.

    Raises:
        MetadataError: a key is empty or has a space, comma, control or non-ASCII
            character, or the result exceeds ``max_size``.
        TypeError: a value is neither bytes-like nor None.
    """
    pairs: list[str] = []
    for key, value in metadata.items():
        problem = _key_problem(key) if isinstance(key, str) else "key is not a string"
        if problem is not None:
            raise MetadataError(f"metadata key {key!r}: {problem}")
        if value is None:
            pairs.append(key)
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
            pairs.append(f"{key} {encode(data)}" if data else key)
        else:
            raise TypeError(
                f"metadata value for {key!r} must be bytes or None, not {type(value).__name__}"
                " (a bytes-like object is required)"
            )
    header = ",".join(pairs)
    if max_size is not None and len(header) > max_size:
        raise MetadataError(f"Upload-Metadata would be larger than {max_size} bytes")
    return header
