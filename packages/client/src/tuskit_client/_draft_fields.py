"""The IETF resumable-upload draft's header fields as the client reads them. No I/O.

The vocabulary (names, interop versions, structured-field codecs, ``Upload-Limit``) is
:mod:`tuskit_common.ietf_draft`, shared with the server. Its parsers raise on a malformed
value; a client receiving one ignores the field instead, as the draft says of
``Upload-Offset``, ``Upload-Complete``, ``Upload-Length`` and ``Upload-Limit`` ("other values
MUST cause the entire header field to be ignored"), so these wrappers return None.
"""

from collections.abc import Mapping
from typing import Final

from tuskit_common.errors import InvalidHeader
from tuskit_common.ietf_draft import (
    LATEST as LATEST_VERSION,
)
from tuskit_common.ietf_draft import (
    PARTIAL_UPLOAD,
    VERSIONS,
    DraftVersion,
    UploadLimit,
    parse_integer,
    parse_upload_limit,
)

#: Interop version -> what changed on the wire in it.
DRAFTS: Final = {version.interop: version for version in VERSIONS}
#: The interop versions the client speaks (``Client(draft_version=...)``), oldest first.
DRAFT_VERSIONS: Final = tuple(DRAFTS)
#: The newest interop version, the default.
LATEST: Final = LATEST_VERSION.interop


def draft_version(interop: int) -> DraftVersion:
    """The interop version ``interop``, or a ValueError listing the ones spoken."""
    try:
        return DRAFTS[interop]
    except (KeyError, TypeError):
        known = ", ".join(str(number) for number in DRAFTS)
        raise ValueError(f"draft interop version {interop!r} is not one of {known}") from None


def read_integer(value: str | None, name: str) -> int | None:
    """A non-negative sf-integer, or None for a missing or malformed one (then ignored)."""
    try:
        return None if value is None else parse_integer(value, name)
    except InvalidHeader:
        return None


def read_limits(value: str | None, version: DraftVersion) -> UploadLimit | None:
    """``Upload-Limit``, or None when absent or malformed (then ignored whole)."""
    try:
        return None if value is None else parse_upload_limit(value, version)
    except InvalidHeader:
        return None


def completeness(fields: Mapping[str, str], version: DraftVersion) -> bool | None:
    """Whether a message says the upload is complete, in its version's spelling; None when
    it does not say (or says it malformed)."""
    try:
        return version.parse_complete(fields.get(version.complete_header))
    except InvalidHeader:
        return None


def accepts_partial_upload(value: str | None) -> bool:
    """Whether ``Accept-Patch`` names ``application/partial-upload`` (draft -10 on: a server
    that creates resumable uploads MUST list the full type in its OPTIONS answer)."""
    types = (item.split(";", 1)[0].strip().lower() for item in (value or "").split(","))
    return PARTIAL_UPLOAD in types
