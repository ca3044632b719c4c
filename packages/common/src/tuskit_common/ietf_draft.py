"""The IETF "Resumable Uploads for HTTP" draft vocabulary shared by client and server. Pure, no I/O.

draft-ietf-httpbis-resumable-upload (the tus 2 successor) has gone through interop versions
announced with ``Upload-Draft-Interop-Version``; peers in the field speak different ones (tusd
v2.9.1 speaks 3 to 6, tus-js-client 4's ``ietf-draft-03``/``ietf-draft-05`` modes send 5 and 6).
:data:`VERSIONS` holds each one tuskit speaks with what changed on the wire, so neither side
branches on bare numbers. The structured-field codecs cover only what the draft uses (RFC 9651
Booleans, non-negative Integers and the ``Upload-Limit`` Dictionary); bad values raise
:class:`~tuskit_common.errors.InvalidHeader` naming the header, as :mod:`tuskit_common.values` does.
"""

import json
import re
from dataclasses import dataclass
from typing import Final

from tuskit_common.errors import InvalidHeader

# Header names and fixed values the draft adds (Upload-Offset and Upload-Length keep their
# tus 1.0.0 names, see tuskit_common.headers).
UPLOAD_DRAFT_INTEROP_VERSION: Final = "Upload-Draft-Interop-Version"
UPLOAD_COMPLETE: Final = "Upload-Complete"
#: Interop version 3 (draft -01) only: the inverse of ``Upload-Complete``.
UPLOAD_INCOMPLETE: Final = "Upload-Incomplete"
UPLOAD_LIMIT: Final = "Upload-Limit"
ACCEPT_PATCH: Final = "Accept-Patch"
#: The media type of an append's content from interop version 6 (draft -04) on.
PARTIAL_UPLOAD: Final = "application/partial-upload"
#: RFC 9457 problem details, the draft's error bodies.
PROBLEM_JSON: Final = "application/problem+json"
#: The informational status announcing the upload resource (and, later, progress).
UPLOAD_RESUMPTION_SUPPORTED: Final = 104


@dataclass(frozen=True, slots=True)
class DraftVersion:
    """One interop version and the wire differences tuskit honours for it.

    ``interop`` is the ``Upload-Draft-Interop-Version`` value; ``drafts`` names the draft
    revisions that use it. ``limit_age_key`` is the ``Upload-Limit`` key of the resource's
    lifetime (``expires`` in -04/-05, ``max-age`` from -06), ``None`` before limits existed.
    """

    interop: int
    drafts: str
    complete_header: str
    append_media_type: str | None
    limit_age_key: str | None

    @property
    def inverted(self) -> bool:
        """True for draft -01, whose ``Upload-Incomplete`` says the opposite of completeness."""
        return self.complete_header == UPLOAD_INCOMPLETE

    @property
    def has_limits(self) -> bool:
        """Whether ``Upload-Limit`` and the problem types exist in this version."""
        return self.limit_age_key is not None

    def parse_complete(self, value: str | None) -> bool | None:
        """Completeness from this version's header value; ``None`` when the header is absent."""
        if value is None:
            return None
        flag = parse_boolean(value, self.complete_header)
        return not flag if self.inverted else flag

    def format_complete(self, complete: bool) -> tuple[str, str]:
        """The header (name, value) telling the peer whether the upload is complete."""
        return self.complete_header, format_boolean(not complete if self.inverted else complete)


#: Every interop version tuskit speaks, oldest first.
VERSIONS: Final = (
    DraftVersion(3, "-01", UPLOAD_INCOMPLETE, None, None),
    DraftVersion(4, "-02", UPLOAD_COMPLETE, None, None),
    DraftVersion(5, "-03", UPLOAD_COMPLETE, None, None),
    DraftVersion(6, "-04, -05", UPLOAD_COMPLETE, PARTIAL_UPLOAD, "expires"),
    DraftVersion(7, "-06 to -08", UPLOAD_COMPLETE, PARTIAL_UPLOAD, "max-age"),
    DraftVersion(8, "-09 to -12", UPLOAD_COMPLETE, PARTIAL_UPLOAD, "max-age"),
)
#: The newest version, used when a request carries ``Upload-Complete`` but no interop header.
LATEST: Final = VERSIONS[-1]
_BY_INTEROP: Final = {version.interop: version for version in VERSIONS}


def version_for(value: str | None) -> DraftVersion | None:
    """The version a ``Upload-Draft-Interop-Version`` value names; ``None`` when absent.

    Raises:
        InvalidHeader: not an integer, or a version tuskit does not speak (the message lists
            the supported ones).
    """
    if value is None:
        return None
    number = parse_integer(value, UPLOAD_DRAFT_INTEROP_VERSION)
    version = _BY_INTEROP.get(number)
    if version is None:
        supported = ", ".join(str(known.interop) for known in VERSIONS)
        raise InvalidHeader(
            f"{UPLOAD_DRAFT_INTEROP_VERSION} {number} is not supported (supported: {supported})",
            code="unsupported_interop_version",
        )
    return version


# RFC 9651: an Item is a bare item followed by parameters (";key=value" pairs) which the draft
# gives no meaning and tuskit ignores; surrounding spaces are discarded by the parser.
_PARAMS = r"(?:;[ ]*[a-z*][a-z0-9_.*-]*(?:=[^;,]*)?)*"
_BOOLEAN = re.compile(rf"\?([01]){_PARAMS}")
_INTEGER = re.compile(rf"(-?[0-9]{{1,15}}){_PARAMS}")


def parse_boolean(value: str, header: str) -> bool:
    """Parse a structured-field Boolean (``?1`` / ``?0``)."""
    match = _BOOLEAN.fullmatch(value.strip(" "))
    if match is None:
        raise InvalidHeader(
            f"{header} must be a structured-field boolean (?1 or ?0), got {value!r}",
            code="invalid_boolean",
        )
    return match.group(1) == "1"


def format_boolean(flag: bool) -> str:
    """Format a structured-field Boolean."""
    return "?1" if flag else "?0"


def parse_integer(value: str, header: str) -> int:
    """Parse a non-negative structured-field Integer (at most 15 digits, RFC 9651 §3.3.1)."""
    match = _INTEGER.fullmatch(value.strip(" "))
    if match is None or match.group(1).startswith("-"):
        raise InvalidHeader(
            f"{header} must be a non-negative structured-field integer, got {value!r}",
            code="invalid_integer",
        )
    return int(match.group(1))


def format_integer(number: int) -> str:
    """Format a non-negative structured-field Integer."""
    if not 0 <= number < 10**15:
        raise ValueError(f"structured-field integers here are 0 to 10**15 - 1, got {number}")
    return str(number)


@dataclass(frozen=True, slots=True)
class UploadLimit:
    """The ``Upload-Limit`` members (draft §upload-limit); ``None`` means no such limit.

    ``max_age`` is the remaining lifetime in seconds (``expires`` in interop version 6).
    """

    max_size: int | None = None
    min_size: int | None = None
    max_append_size: int | None = None
    min_append_size: int | None = None
    max_age: int | None = None

    @property
    def empty(self) -> bool:
        """True when no limit applies (the header is then left out)."""
        return all(getattr(self, name) is None for name in _FIELDS)


_FIELDS: Final = ("max_size", "min_size", "max_append_size", "min_append_size", "max_age")
_MEMBER = re.compile(r"([a-z*][a-z0-9_.*-]*)(?:=([^;]*))?" + _PARAMS)


def parse_upload_limit(value: str, version: DraftVersion = LATEST) -> UploadLimit:
    """Parse an ``Upload-Limit`` Dictionary; unknown keys are ignored, as the draft requires.

    Raises:
        InvalidHeader: not a Dictionary, or a known key whose value is not an Integer (the
            draft lets a receiver ignore the whole field instead; callers may do so).
    """
    age_key = version.limit_age_key or "max-age"
    found: dict[str, int] = {}
    for raw in value.split(","):
        member = _MEMBER.fullmatch(raw.strip(" \t"))
        if member is None:
            raise InvalidHeader(
                f"{UPLOAD_LIMIT} must be a structured-field dictionary, got {value!r}",
                code="invalid_upload_limit",
            )
        key, item = member.group(1), member.group(2)
        field = "max_age" if key == age_key else key.replace("-", "_")
        if field not in _FIELDS or (field == "max_age" and key != age_key):
            continue
        if item is None:  # a bare key is the Boolean true: the wrong type for every limit
            raise InvalidHeader(
                f"{UPLOAD_LIMIT} {key} must be an integer, got a boolean",
                code="invalid_upload_limit",
            )
        found[field] = parse_integer(item, f"{UPLOAD_LIMIT} {key}")
    return UploadLimit(**found)


def format_upload_limit(limit: UploadLimit, version: DraftVersion = LATEST) -> str:
    """Format ``limit`` with the key names of ``version`` (empty when no limit applies)."""
    members = []
    for field in _FIELDS:
        number = getattr(limit, field)
        if number is None:
            continue
        key = (
            (version.limit_age_key or "max-age") if field == "max_age" else field.replace("_", "-")
        )
        members.append(f"{key}={format_integer(number)}")
    return ", ".join(members)


# RFC 9457 problem types the draft registers (§Problem Types), with their suggested statuses.
_TYPE_BASE: Final = "https://iana.org/assignments/http-problem-types#"
MISMATCHING_OFFSET: Final = _TYPE_BASE + "mismatching-upload-offset"
COMPLETED_UPLOAD: Final = _TYPE_BASE + "completed-upload"
INCONSISTENT_LENGTH: Final = _TYPE_BASE + "inconsistent-upload-length"


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem-details body: the draft's ``type`` plus its offset members where they apply."""

    type: str
    title: str
    expected_offset: int | None = None
    provided_offset: int | None = None

    def to_json(self) -> bytes:
        """The ``application/problem+json`` body."""
        body: dict[str, object] = {"type": self.type, "title": self.title}
        if self.expected_offset is not None:
            body["expected-offset"] = self.expected_offset
        if self.provided_offset is not None:
            body["provided-offset"] = self.provided_offset
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, body: bytes) -> "Problem | None":
        """Read a problem-details body; ``None`` when it is not one (no string ``type``)."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return None
        title = data.get("title")
        return cls(
            type=data["type"],
            title=title if isinstance(title, str) else "",
            expected_offset=_offset_member(data, "expected-offset"),
            provided_offset=_offset_member(data, "provided-offset"),
        )


def _offset_member(data: dict[str, object], key: str) -> int | None:
    """A non-negative integer member, or ``None`` when absent or of another type."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
