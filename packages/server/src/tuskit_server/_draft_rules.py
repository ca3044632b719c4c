"""The IETF resumable-upload draft's server rules as pure functions (sans-IO, like ``_rules``).

The same upload space serves tus 1.0.0 and the draft (``setup_tus(ietf_draft=True)``); a
request is the draft's when it names an interop version, or when it carries no
``Tus-Resumable`` but the draft's own headers (the latest text has no interop header). The
draft's completeness maps onto tuskit's stored state: an upload is complete once its length
is known and reached, so ``Upload-Complete: ?1`` fixes the length at the end of the request.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tuskit_common import BadRequest, OffsetMismatch, Resource, UnsupportedMediaType, headers
from tuskit_common.ietf_draft import (
    ACCEPT_PATCH,
    COMPLETED_UPLOAD,
    INCONSISTENT_LENGTH,
    LATEST,
    MISMATCHING_OFFSET,
    PARTIAL_UPLOAD,
    UPLOAD_COMPLETE,
    UPLOAD_DRAFT_INTEROP_VERSION,
    UPLOAD_INCOMPLETE,
    UPLOAD_LIMIT,
    DraftVersion,
    Problem,
    UploadLimit,
    format_integer,
    format_upload_limit,
    parse_integer,
    version_for,
)
from tuskit_server._rules import check_size

__all__ = [
    "DRAFT_REQUEST_HEADERS",
    "DRAFT_RESPONSE_HEADERS",
    "CompletedUpload",
    "DraftAppendPlan",
    "DraftCreationPlan",
    "DraftOffsetMismatch",
    "InconsistentLength",
    "draft_options_headers",
    "draft_version",
    "limit_headers",
    "plan_draft_append",
    "plan_draft_creation",
    "state_headers",
    "upload_limit",
]

_BODY_METHODS = frozenset({"POST", "PATCH"})


def draft_version(method: str, request_headers: Mapping[str, str]) -> DraftVersion | None:
    """The draft version a request speaks, or ``None`` for a tus 1.0.0 request.

    Raises:
        InvalidHeader: an interop version that is malformed or not spoken (400).
    """
    named = version_for(request_headers.get(UPLOAD_DRAFT_INTEROP_VERSION))
    if named is not None:
        return named
    if headers.TUS_RESUMABLE in request_headers:
        return None
    if method in _BODY_METHODS:
        has_draft_header = UPLOAD_COMPLETE in request_headers
        return LATEST if has_draft_header else None
    return LATEST if method in ("HEAD", "DELETE") else None


class InconsistentLength(BadRequest):
    """400: lengths that disagree (draft §upload-length), as an inconsistent-length problem."""

    default_code = "inconsistent_upload_length"

    @property
    def problem(self) -> Problem:
        return Problem(INCONSISTENT_LENGTH, self.message)


class CompletedUpload(BadRequest):
    """400: an empty append to a completed upload (draft §upload-appending)."""

    default_code = "completed_upload"

    @property
    def problem(self) -> Problem:
        return Problem(COMPLETED_UPLOAD, self.message)


class DraftOffsetMismatch(OffsetMismatch):
    """409 with the expected and provided offsets in a mismatching-offset problem."""

    def __init__(self, message: str, *, offset: int, provided: int) -> None:
        super().__init__(message, offset=offset)
        self.provided = provided

    @property
    def problem(self) -> Problem:
        return Problem(MISMATCHING_OFFSET, self.message, self.offset, self.provided)


def _complete(version: DraftVersion, request_headers: Mapping[str, str]) -> bool:
    """``Upload-Complete`` (draft -01: ``Upload-Incomplete``), required to create and append."""
    complete = version.parse_complete(request_headers.get(version.complete_header))
    if complete is None:
        raise BadRequest(
            f"{version.complete_header} is required (interop version {version.interop})",
            code="missing_upload_complete",
        )
    return complete


def _declared_length(
    request_headers: Mapping[str, str], *, offset: int, complete: bool, content_length: int | None
) -> int | None:
    """The length a request indicates (draft §upload-length): ``Upload-Length``, or the offset
    plus ``Content-Length`` of a completing request; both must agree."""
    raw = request_headers.get(headers.UPLOAD_LENGTH)
    stated = None if raw is None else parse_integer(raw, headers.UPLOAD_LENGTH)
    implied = offset + content_length if complete and content_length is not None else None
    if stated is not None and implied is not None and stated != implied:
        raise InconsistentLength(
            f"Upload-Length {stated} disagrees with the {implied} bytes this request completes"
        )
    return stated if stated is not None else implied


@dataclass(frozen=True, slots=True)
class DraftCreationPlan:
    """What a draft upload creation asks for: completeness and the length, if indicated."""

    complete: bool
    length: int | None
    metadata_header: str | None


def plan_draft_creation(
    version: DraftVersion,
    request_headers: Mapping[str, str],
    *,
    content_length: int | None,
    max_size: int | None,
) -> DraftCreationPlan:
    """Validate a draft creation's headers (draft §upload-creation).

    Raises:
        BadRequest / InvalidHeader (400), InconsistentLength (400), TooLarge (413).
    """
    complete = _complete(version, request_headers)
    length = _declared_length(
        request_headers, offset=0, complete=complete, content_length=content_length
    )
    if length is not None:
        check_size(length, max_size)
    metadata = request_headers.get(headers.UPLOAD_METADATA) or None
    return DraftCreationPlan(complete, length, metadata)


@dataclass(frozen=True, slots=True)
class DraftAppendPlan:
    """What a valid draft append may do.

    Attributes:
        complete: the request completes the upload (``Upload-Complete: ?1``).
        declare_length: a length to record before the body (the stored one was unknown).
        max_bytes: how many body bytes fit (None: no limit known).
        close_at_end: record the length as the offset reached once the body ends (a
            completing request whose length was not indicated).
    """

    complete: bool
    declare_length: int | None
    max_bytes: int | None
    close_at_end: bool


def plan_draft_append(
    version: DraftVersion,
    resource: Resource,
    request_headers: Mapping[str, str],
    *,
    content_length: int | None,
    has_body: bool,
    max_size: int | None,
) -> DraftAppendPlan:
    """Validate a draft append against the stored upload (draft §upload-appending).

    Raises:
        UnsupportedMediaType (415) without ``application/partial-upload`` where the version
        requires it; InvalidHeader (400); InconsistentLength / CompletedUpload (400) for a
        completed upload; DraftOffsetMismatch (409); TooLarge (413).
    """
    media = version.append_media_type
    sent_type = request_headers.get(headers.CONTENT_TYPE, "").split(";", 1)[0].strip().lower()
    if media is not None and sent_type != media:
        raise UnsupportedMediaType(f"an append's Content-Type must be {media}")
    raw_offset = request_headers.get(headers.UPLOAD_OFFSET)
    if raw_offset is None:
        raise BadRequest("Upload-Offset is required on an append", code="missing_upload_offset")
    offset = parse_integer(raw_offset, headers.UPLOAD_OFFSET)
    complete = _complete(version, request_headers)
    if resource.is_complete:
        if has_body and content_length != 0:
            raise InconsistentLength("the upload is complete: no more data can be appended")
        raise CompletedUpload("the upload is already complete")
    if offset != resource.offset:
        raise DraftOffsetMismatch(
            f"Upload-Offset {offset} does not match the current offset {resource.offset}",
            offset=resource.offset,
            provided=offset,
        )
    length = _declared_length(
        request_headers, offset=offset, complete=complete, content_length=content_length
    )
    if length is not None and resource.length is not None and length != resource.length:
        raise InconsistentLength(
            f"the length {length} differs from the {resource.length} indicated before"
        )
    declare = None
    if length is not None:
        check_size(length, max_size)
        declare = length if resource.length is None else None
    known = resource.length if resource.length is not None else length
    if complete and not has_body and known is not None and known != offset:
        raise InconsistentLength(f"the upload ends at {known} bytes, not at the offset {offset}")
    if known is not None:
        max_bytes: int | None = known - offset
    else:
        max_bytes = None if max_size is None else max_size - offset
    return DraftAppendPlan(complete, declare, max_bytes, complete and known is None)


def upload_limit(resource: Resource | None, *, max_size: int | None, now: datetime) -> UploadLimit:
    """The limits announced for an upload (or, without one, for new uploads)."""
    max_age = None
    if resource is not None and resource.expires_at is not None and not resource.is_complete:
        max_age = max(0, int((resource.expires_at - now).total_seconds()))
    return UploadLimit(max_size=max_size, max_age=max_age)


def state_headers(
    version: DraftVersion, resource: Resource, limit: UploadLimit | None
) -> dict[str, str]:
    """The upload's state (draft §offset-retrieving): offset, completeness, the length when
    known and the limits (from interop version 6), plus the interop version when named."""
    name, value = version.format_complete(resource.is_complete)
    result = {
        headers.UPLOAD_OFFSET: format_integer(resource.offset),
        name: value,
        UPLOAD_DRAFT_INTEROP_VERSION: str(version.interop),
    }
    if resource.length is not None:
        result[headers.UPLOAD_LENGTH] = format_integer(resource.length)
    result.update(limit_headers(version, limit))
    return result


def limit_headers(version: DraftVersion, limit: UploadLimit | None) -> dict[str, str]:
    """``Upload-Limit`` where the version has it and a limit applies."""
    if limit is None or limit.empty or not version.has_limits:
        return {}
    return {UPLOAD_LIMIT: format_upload_limit(limit, version)}


#: Request headers a draft browser client sends (CORS preflight) and response headers it reads.
DRAFT_REQUEST_HEADERS = (UPLOAD_DRAFT_INTEROP_VERSION, UPLOAD_COMPLETE, UPLOAD_INCOMPLETE)
DRAFT_RESPONSE_HEADERS = (UPLOAD_DRAFT_INTEROP_VERSION, UPLOAD_COMPLETE, UPLOAD_LIMIT)


def draft_options_headers(max_size: int | None) -> dict[str, str]:
    """OPTIONS on a draft-speaking endpoint (draft §upload-limit): ``Accept-Patch`` with
    ``application/partial-upload`` (MUST) and the limits of new uploads."""
    result = {ACCEPT_PATCH: PARTIAL_UPLOAD}
    limit = UploadLimit(max_size=max_size)
    if not limit.empty:
        result[UPLOAD_LIMIT] = format_upload_limit(limit)
    return result
