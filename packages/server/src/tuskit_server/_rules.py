"""The tus server rules as pure functions: header checks, plans and response heads.

Sans-IO (style §2): no aiohttp, no asyncio, no clock, no id generation. Handlers hand in
header mappings, the stored :class:`Resource`, the time and the limits; these functions
raise :class:`tuskit_common.ProtocolError` subclasses or return plain values.
"""

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from tuskit_common import (
    BadRequest,
    Checksum,
    Concat,
    Extension,
    ExtensionUnavailable,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    OffsetMismatch,
    Resource,
    TooLarge,
    UnsupportedMediaType,
    VersionUnsupported,
    check_checksum,
    decode_metadata,
    format_extensions,
    headers,
)
from tuskit_common.values import (
    format_http_date,
    format_list,
    format_uint,
    parse_checksum,
    parse_concat,
    parse_defer_length,
    parse_length,
    parse_offset,
    parse_uint,
)

#: Upload ids accepted in URLs and Upload-Concat lists (security §7: allow-list first).
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: The methods X-HTTP-Method-Override may name (§4.6).
OVERRIDABLE = frozenset({"PATCH", "DELETE", "HEAD"})


def check_version(value: str | None) -> None:
    """``Tus-Resumable`` must name a supported version, else 412 (spec §1.1, MUST)."""
    if value is None:
        raise VersionUnsupported("Tus-Resumable header is missing")
    if value.strip() not in headers.SUPPORTED_VERSIONS:
        raise VersionUnsupported(f"Tus-Resumable {value!r} is not supported")


def check_media_type(value: str | None) -> None:
    """A PATCH body must be ``application/offset+octet-stream``, else 415 (spec §1.2 SHOULD)."""
    if not is_tus_body(value):
        raise UnsupportedMediaType(f"Content-Type must be {headers.OFFSET_OCTET_STREAM}")


def is_tus_body(value: str | None) -> bool:
    """True when a Content-Type announces tus data (parameters are ignored)."""
    if value is None:
        return False
    return value.split(";", 1)[0].strip().lower() == headers.OFFSET_OCTET_STREAM


def check_id(upload_id: str) -> str:
    """Return ``upload_id`` if it is a well-formed id, else raise 404 (security §7)."""
    if not ID_PATTERN.fullmatch(upload_id):
        raise NotFound("no such upload")
    return upload_id


def effective_method(method: str, override: str | None, *, on_upload: bool) -> str:
    """Apply ``X-HTTP-Method-Override`` to a POST on an upload URL (spec §1.1, §4.6).

    Raises:
        MethodNotAllowed: the override names something other than PATCH, DELETE or HEAD.
    """
    if override is None or method != "POST" or not on_upload:
        return method
    wanted = override.strip().upper()
    if wanted not in OVERRIDABLE:
        raise MethodNotAllowed(f"X-HTTP-Method-Override {override!r} is not allowed here")
    return wanted


def parse_offset_header(value: str | None) -> int:
    """Parse ``Upload-Offset``; missing or malformed is 400 (digest §1.3, tuskit)."""
    return parse_offset(value)


def parse_content_length(value: str | None) -> int | None:
    """Parse ``Content-Length`` (None when absent, e.g. a chunked body)."""
    return None if value is None else parse_uint(value, headers.CONTENT_LENGTH)


def parse_checksum_header(value: str | None, supported: Collection[str]) -> Checksum | None:
    """Parse and check ``Upload-Checksum`` before any body byte is read (spec §checksum).

    Raises:
        BadRequest: malformed, wrong digest length, or an algorithm not offered (400).
    """
    if value is None:
        return None
    checksum = parse_checksum(value)
    check_checksum(checksum, frozenset(supported))
    return checksum


@dataclass(frozen=True, slots=True)
class CreationPlan:
    """What a valid creation POST asks for.

    Attributes:
        length: the declared length; None when deferred or for a final upload.
        metadata_header: the raw ``Upload-Metadata`` (validated), echoed verbatim later.
        concat: the parsed ``Upload-Concat`` or None; concat_header its raw text.
    """

    length: int | None
    deferred: bool
    metadata_header: str | None
    concat: Concat | None
    concat_header: str | None


def plan_creation(
    request_headers: Mapping[str, str],
    *,
    extensions: Collection[Extension],
    max_size: int | None,
    metadata_limit: int,
) -> CreationPlan:
    """Validate a creation POST's headers (spec §3.1, §3.3, §3.8; digest §1.3).

    Raises:
        InvalidHeader / BadRequest (400), MetadataError (400), TooLarge (413),
        ExtensionUnavailable (501).
    """
    concat_header = request_headers.get(headers.UPLOAD_CONCAT)
    concat: Concat | None = None
    if concat_header is not None:
        if Extension.CONCATENATION not in extensions:
            raise ExtensionUnavailable("concatenation is not supported")
        concat = parse_concat(concat_header)
    raw_length = request_headers.get(headers.UPLOAD_LENGTH)
    raw_defer = request_headers.get(headers.UPLOAD_DEFER_LENGTH)
    deferred = False
    length: int | None = None
    if concat is not None and concat.is_final:
        if raw_length is not None or raw_defer is not None:
            raise BadRequest(
                "a final upload must not carry Upload-Length or Upload-Defer-Length",
                code="final_with_length",
            )
    elif raw_length is not None and raw_defer is not None:
        raise BadRequest(
            "send either Upload-Length or Upload-Defer-Length, not both",
            code="conflicting_length",
        )
    elif raw_defer is not None:
        parse_defer_length(raw_defer)
        if Extension.CREATION_DEFER_LENGTH not in extensions:
            raise ExtensionUnavailable("creation-defer-length is not supported")
        deferred = True
    elif raw_length is not None:
        length = parse_length(raw_length)
        check_size(length, max_size)
    else:
        raise BadRequest(
            "Upload-Length or Upload-Defer-Length is required", code="missing_upload_length"
        )
    metadata_header = request_headers.get(headers.UPLOAD_METADATA)
    if metadata_header is not None and not metadata_header.strip():
        metadata_header = None
    if metadata_header is not None:
        decode_metadata(metadata_header, max_size=metadata_limit)
    return CreationPlan(length, deferred, metadata_header, concat, concat_header)


def check_size(length: int, max_size: int | None) -> None:
    """A length above the maximum gets 413 (spec §3.1 MUST)."""
    if max_size is not None and length > max_size:
        raise TooLarge(f"upload length {length} exceeds the maximum of {max_size} bytes")


def check_creation_body(plan: CreationPlan, content_length: int | None) -> None:
    """A creation-with-upload body must fit the declared length (digest §3.2).

    Raises:
        Forbidden: a final upload with a body (403).
        TooLarge: Content-Length above Upload-Length (413).
    """
    if plan.concat is not None and plan.concat.is_final:
        raise Forbidden("a final upload cannot carry data", code="final_with_body")
    if plan.length is not None and content_length is not None and content_length > plan.length:
        raise TooLarge(
            f"Content-Length {content_length} exceeds Upload-Length {plan.length}",
            code="body_too_large",
        )


@dataclass(frozen=True, slots=True)
class AppendPlan:
    """What a valid PATCH may do.

    Attributes:
        offset: the current offset, where the body goes.
        max_bytes: how many body bytes fit (None: no limit while the length is deferred).
        declare_length: a length to record now (creation-defer-length), or None.
    """

    offset: int
    max_bytes: int | None
    declare_length: int | None


def plan_append(
    resource: Resource,
    *,
    offset_header: str | None,
    length_header: str | None,
    content_length: int | None,
    max_size: int | None,
) -> AppendPlan:
    """Validate a PATCH against the stored upload (spec §1.2 PATCH, §3.3; digest §1.3).

    Raises:
        InvalidHeader (400) for a missing or malformed Upload-Offset / Upload-Length;
        Forbidden (403) for a final upload; OffsetMismatch (409, with the current offset);
        BadRequest (400) for a length below the offset or different from the stored one;
        TooLarge (413) for a length above the maximum or a body past the length.
    """
    offset = parse_offset(offset_header)
    if resource.is_final:
        raise Forbidden("a final upload cannot be patched", code="patch_final")
    if offset != resource.offset:
        raise OffsetMismatch(
            f"Upload-Offset {offset} does not match the current offset {resource.offset}",
            offset=resource.offset,
        )
    declare: int | None = None
    length = resource.length
    if length_header is not None:
        new_length = parse_length(length_header)
        if length is not None and new_length != length:
            raise BadRequest(
                f"Upload-Length {new_length} differs from the declared {length}",
                code="length_changed",
            )
        if new_length < offset:
            raise BadRequest(
                f"Upload-Length {new_length} is below the offset {offset}", code="length_too_small"
            )
        check_size(new_length, max_size)
        if length is None:
            declare = new_length
        length = new_length
    if length is not None:
        max_bytes: int | None = length - offset
    elif max_size is not None:
        max_bytes = max_size - offset
    else:
        max_bytes = None
    if content_length is not None and max_bytes is not None and content_length > max_bytes:
        raise TooLarge(
            f"Content-Length {content_length} exceeds the {max_bytes} bytes left",
            code="body_too_large",
        )
    return AppendPlan(offset, max_bytes, declare)


def options_headers(
    *,
    extensions: Collection[Extension],
    max_size: int | None,
    algorithms: Collection[str],
) -> dict[str, str]:
    """The OPTIONS response head (spec §1.2 OPTIONS): Tus-Version MUST be present."""
    result = {headers.TUS_VERSION: format_list(headers.SUPPORTED_VERSIONS)}
    if extensions:
        result[headers.TUS_EXTENSION] = format_extensions(extensions)
    if max_size is not None:
        result[headers.TUS_MAX_SIZE] = format_uint(max_size)
    if Extension.CHECKSUM in extensions and algorithms:
        result[headers.TUS_CHECKSUM_ALGORITHM] = format_list(algorithms)
    return result


def head_headers(resource: Resource, *, now: datetime) -> dict[str, str]:
    """The HEAD response head (spec §1.2 HEAD, §3.3, §3.8).

    Upload-Offset is always sent except for a final upload not yet concatenated; the
    metadata and concat headers are echoed byte for byte; Cache-Control: no-store (MUST).
    """
    result = {headers.CACHE_CONTROL: headers.NO_STORE}
    concatenated = not resource.is_final or resource.is_complete
    if concatenated:
        result[headers.UPLOAD_OFFSET] = format_uint(resource.offset)
    if resource.length is not None:
        result[headers.UPLOAD_LENGTH] = format_uint(resource.length)
    elif not resource.is_final:
        result[headers.UPLOAD_DEFER_LENGTH] = "1"
    if resource.metadata_header is not None:
        result[headers.UPLOAD_METADATA] = resource.metadata_header
    if resource.concat_header is not None:
        result[headers.UPLOAD_CONCAT] = resource.concat_header
    result.update(expires_headers(resource, now=now))
    return result


def expires_headers(resource: Resource, *, now: datetime) -> dict[str, str]:
    """``Upload-Expires`` while the upload can still expire (spec §3.4)."""
    if resource.expires_at is None or resource.is_complete or resource.expires_at <= now:
        return {}
    return {headers.UPLOAD_EXPIRES: format_http_date(resource.expires_at)}


def is_expired(resource: Resource, now: datetime) -> bool:
    """Unfinished uploads whose expiry has passed (finished ones never expire, §3.4)."""
    return (
        not resource.is_complete and resource.expires_at is not None and resource.expires_at <= now
    )


__all__ = [
    "AppendPlan",
    "CreationPlan",
    "check_creation_body",
    "check_id",
    "check_media_type",
    "check_size",
    "check_version",
    "effective_method",
    "expires_headers",
    "head_headers",
    "is_expired",
    "is_tus_body",
    "options_headers",
    "parse_checksum_header",
    "parse_content_length",
    "parse_offset_header",
    "plan_append",
    "plan_creation",
]
