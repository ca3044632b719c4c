"""Parsers and formatters for single tus header values. Pure, no I/O.

Every parser takes the raw header text and either returns a typed value or raises
:class:`InvalidHeader` whose message names the header and quotes the bad value, so a server
can answer 400 with it unchanged. Formatters are the exact inverses.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from tuskit_common import headers
from tuskit_common._base64 import decode_strict, encode
from tuskit_common.errors import InvalidHeader

_UINT = re.compile(r"[0-9]{1,19}")
_ALGORITHM = re.compile(r"[a-z0-9][a-z0-9-]*")


def parse_uint(value: str | None, header: str) -> int:
    """Parse a non-negative integer header (``Upload-Offset``, ``Upload-Length``, ...).

    Only 1 to 19 ASCII digits are accepted: no sign, whitespace, decimal point or empty value.

    Raises:
        InvalidHeader: missing or malformed; the message names ``header``.
    """
    if value is None:
        raise InvalidHeader(f"{header} header is missing", code=_code(header, "missing"))
    if not _UINT.fullmatch(value):
        raise InvalidHeader(
            f"{header} must be a non-negative integer of at most 19 digits, got {value!r}",
            code=_code(header, "invalid"),
        )
    return int(value)


def format_uint(value: int) -> str:
    """Format a non-negative integer header value."""
    if value < 0:
        raise ValueError(f"header integers are non-negative, got {value}")
    return str(value)


def parse_offset(value: str | None) -> int:
    """Parse ``Upload-Offset``."""
    return parse_uint(value, headers.UPLOAD_OFFSET)


def parse_length(value: str | None) -> int:
    """Parse ``Upload-Length``."""
    return parse_uint(value, headers.UPLOAD_LENGTH)


def parse_defer_length(value: str) -> bool:
    """Parse ``Upload-Defer-Length``: the only valid value is ``1`` (spec §creation-defer-length).

    Raises:
        InvalidHeader: any other value.
    """
    if value != "1":
        raise InvalidHeader(
            f"Upload-Defer-Length must be 1, got {value!r}", code="invalid_upload_defer_length"
        )
    return True


@dataclass(frozen=True, slots=True)
class Concat:
    """A parsed ``Upload-Concat``: a partial upload, or a final one listing its partials."""

    kind: Literal["partial", "final"]
    urls: tuple[str, ...] = ()

    @property
    def is_partial(self) -> bool:
        return self.kind == "partial"

    @property
    def is_final(self) -> bool:
        return self.kind == "final"


def parse_concat(value: str) -> Concat:
    """Parse ``Upload-Concat``: ``partial``, or ``final;<url> <url> ...`` (spec §concatenation).

    Raises:
        InvalidHeader: anything else, or a final with no URL.
    """
    text = value.strip()
    if text == "partial":
        return Concat("partial")
    prefix, sep, rest = text.partition(";")
    if prefix.strip() != "final" or not sep:
        raise InvalidHeader(
            f"Upload-Concat must be 'partial' or 'final;<url> ...', got {value!r}",
            code="invalid_upload_concat",
        )
    urls = tuple(rest.split())
    if not urls:
        raise InvalidHeader(
            "Upload-Concat final lists no partial upload", code="invalid_upload_concat"
        )
    return Concat("final", urls)


def format_concat(concat: Concat) -> str:
    """Format ``Upload-Concat``."""
    if concat.kind == "partial":
        return "partial"
    if not concat.urls or any(not url or any(c.isspace() for c in url) for url in concat.urls):
        raise ValueError("a final Upload-Concat needs one or more URLs without spaces")
    return "final;" + " ".join(concat.urls)


@dataclass(frozen=True, slots=True)
class Checksum:
    """A parsed ``Upload-Checksum``: the algorithm name and the raw digest of one body."""

    algorithm: str
    digest: bytes


def parse_checksum(value: str) -> Checksum:
    """Parse ``Upload-Checksum``: ``<algorithm> <base64 digest>``, one space (spec §checksum).

    Only the syntax is checked here; whether the algorithm is offered and the digest has the
    right length is :func:`tuskit_common.checksums.check_checksum`'s job.

    Raises:
        InvalidHeader: not two parts, an algorithm that is not lowercase ASCII, or a digest
            that is not strict, non-empty Base64.
    """
    parts = value.strip().split(" ")
    if len(parts) != 2:
        raise InvalidHeader(
            f"Upload-Checksum must be '<algorithm> <base64 digest>', got {value!r}",
            code="invalid_checksum",
        )
    algorithm, encoded = parts
    if not _ALGORITHM.fullmatch(algorithm):
        raise InvalidHeader(
            f"Upload-Checksum algorithm must be lowercase ASCII, got {algorithm!r}",
            code="invalid_checksum",
        )
    digest = decode_strict(encoded)
    if not digest:
        raise InvalidHeader(
            f"Upload-Checksum digest is not valid base64: {encoded!r}", code="invalid_checksum"
        )
    return Checksum(algorithm, digest)


def format_checksum(checksum: Checksum) -> str:
    """Format ``Upload-Checksum``."""
    return f"{checksum.algorithm} {encode(checksum.digest)}"


def parse_list(value: str | None) -> tuple[str, ...]:
    """Parse a comma-separated header list (``Tus-Version``, ``Tus-Checksum-Algorithm``).

    Whitespace around elements is dropped and empty elements skipped (RFC 9110 §5.6.1).
    """
    if not value:
        return ()
    return tuple(item for part in value.split(",") if (item := part.strip(" \t")))


def parse_algorithms(value: str | None) -> tuple[str, ...]:
    """Parse ``Tus-Checksum-Algorithm``; names are lowercased, as the spec writes them."""
    return tuple(name.lower() for name in parse_list(value))


def format_list(items: Iterable[str]) -> str:
    """Format a comma-separated header list."""
    return ",".join(items)


def parse_http_date(value: str) -> datetime:
    """Parse an RFC 9110 HTTP-date (``Upload-Expires``) into an aware UTC datetime.

    Raises:
        InvalidHeader: not a date.
    """
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidHeader(f"not an HTTP date: {value!r}", code="invalid_http_date") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_http_date(moment: datetime) -> str:
    """Format an aware datetime as an IMF-fixdate, e.g. ``Wed, 25 Jun 2014 16:00:00 GMT``."""
    if moment.tzinfo is None:
        raise ValueError("HTTP dates need an aware datetime")
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _code(header: str, problem: str) -> str:
    """A stable error code such as ``missing_upload_offset`` from a header name."""
    return f"{problem}_{header.lower().replace('-', '_')}"
