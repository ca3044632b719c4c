"""The IETF resumable-upload draft's header fields, as the client reads and writes them. No I/O.

draft-ietf-httpbis-resumable-upload defines ``Upload-Offset`` and ``Upload-Length`` as
Structured-Field Integers, ``Upload-Complete`` as a Boolean and ``Upload-Limit`` as a
Dictionary (RFC 9651); a value of another form makes the receiver ignore the field (§4.1,
§4.4). Interop version 3 (draft -01) said ``Upload-Incomplete`` with the opposite sense.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

INTEROP_VERSION: Final = "Upload-Draft-Interop-Version"
UPLOAD_COMPLETE: Final = "Upload-Complete"
UPLOAD_INCOMPLETE: Final = "Upload-Incomplete"  # interop version 3 (draft -01)
UPLOAD_LIMIT: Final = "Upload-Limit"
ACCEPT_PATCH: Final = "Accept-Patch"
PARTIAL_UPLOAD: Final = "application/partial-upload"

#: Interop version -> the first draft that announced it (the draft's "Draft Version
#: Identification" appendix; tusd's and tus-js-client's names for them).
DRAFTS: Final = {3: "-01", 4: "-02", 5: "-03", 6: "-04", 7: "-06", 8: "-09"}
#: The newest interop version, that of the current draft text (-09 and later).
LATEST: Final = 8

_INTEGER = re.compile(r"-?[0-9]{1,15}")
_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
#: Upload-Limit members whose value must be an Integer (others are ignored).
_LIMIT_KEYS: Final = ("max-size", "min-size", "max-append-size", "min-append-size", "max-age")


def _bare(value: str) -> str:
    """An Item's bare value: its parameters (``;a=1``) and outer spaces dropped."""
    return value.split(";", 1)[0].strip()


def parse_integer(value: str | None) -> int | None:
    """A non-negative sf-integer, or None for a missing or malformed one (then ignored)."""
    if value is None:
        return None
    bare = _bare(value)
    if not _INTEGER.fullmatch(bare) or bare.startswith("-"):
        return None
    return int(bare)


def parse_boolean(value: str | None) -> bool | None:
    """An sf-boolean (``?1`` / ``?0``), or None for a missing or malformed one."""
    bare = None if value is None else _bare(value)
    return {"?1": True, "?0": False}.get(bare or "")


def format_boolean(value: bool) -> str:
    return "?1" if value else "?0"


def format_integer(value: int) -> str:
    if not 0 <= value < 10**15:
        raise ValueError(f"{value} is outside the sf-integer range of the draft's fields")
    return str(value)


@dataclass(frozen=True, slots=True)
class Limits:
    """``Upload-Limit`` (draft §4.4): what the server accepts, in bytes (``max-age`` in s)."""

    max_size: int | None = None
    min_size: int | None = None
    max_append_size: int | None = None
    min_append_size: int | None = None
    max_age: int | None = None


def parse_limits(value: str | None) -> Limits | None:
    """``Upload-Limit`` as :class:`Limits`; None when absent or malformed (a known key with
    a value that is not an Integer makes the whole field ignored; unknown keys are)."""
    if value is None:
        return None
    found: dict[str, int] = {}
    for member in value.split(","):
        member = member.strip()
        if not member:
            return None
        key, sep, raw = _bare(member).partition("=")
        if not _KEY.fullmatch(key):
            return None
        if key not in _LIMIT_KEYS:
            continue
        number = parse_integer(raw) if sep and _INTEGER.fullmatch(raw.strip()) else None
        if number is None:
            return None
        found[key.replace("-", "_")] = number
    return Limits(**found)


def completeness(fields: Mapping[str, str], version: int) -> bool | None:
    """Whether a message says the upload is complete, in its version's spelling."""
    if version == 3:
        incomplete = parse_boolean(fields.get(UPLOAD_INCOMPLETE))
        return None if incomplete is None else not incomplete
    return parse_boolean(fields.get(UPLOAD_COMPLETE))


def completeness_field(complete: bool, version: int) -> dict[str, str]:
    """The field that says whether a request completes the upload, in its version's spelling."""
    if version == 3:
        return {UPLOAD_INCOMPLETE: format_boolean(not complete)}
    return {UPLOAD_COMPLETE: format_boolean(complete)}


def accepts_partial_upload(value: str | None) -> bool:
    """Whether ``Accept-Patch`` names ``application/partial-upload`` (draft §4.4: a server
    that creates resumable uploads MUST list the full type there, since draft -10)."""
    types = (_bare(item).lower() for item in (value or "").split(","))
    return PARTIAL_UPLOAD in types
