"""The tus client protocol steps as pure functions over message heads. No I/O, no clock.

Each protocol step is a pair: ``*_request`` builds the :class:`RequestHead` to send and
``read_*`` checks the :class:`ResponseHead` that came back, returning typed values or raising
the client's errors. The heads are :mod:`tuskit_common.messages`' (the server's rules speak
the same header vocabulary); ``_flow`` decides which step comes next, and the I/O layers only
move heads and body bytes, so every rule here - which headers go on which request, what a
valid answer is, how ``Location`` resolves - is testable with hand-built heads.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from yarl import URL

from tuskit_client._problem import describe_body
from tuskit_client.exceptions import ProtocolError, ResponseError, UploadNotFound
from tuskit_common import Checksum, ServerCapabilities, headers, messages, new_hasher
from tuskit_common.errors import InvalidHeader, MetadataError
from tuskit_common.metadata import decode_metadata
from tuskit_common.values import (
    format_checksum,
    format_uint,
    parse_defer_length,
    parse_http_date,
    parse_length,
    parse_offset,
)

#: A request head addressed by ``yarl.URL``; the body travels separately.
RequestHead: TypeAlias = messages.RequestHead[URL]
#: A response head for the request's URL after redirects; ``body`` holds the start of an
#: error body for messages.
ResponseHead: TypeAlias = messages.ResponseHead[URL]


@dataclass(frozen=True, slots=True)
class Created:
    """A successful creation: the absolute upload URL and what the 201 said."""

    location: URL
    offset: int | None = None
    expires: datetime | None = None
    #: the draft's ``Upload-Complete``: the upload is done (None: the protocol does not say)
    complete: bool | None = None


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """What a HEAD says about an upload (spec §1.2 HEAD)."""

    url: URL
    offset: int
    length: int | None
    expires: datetime | None = None
    metadata_header: str | None = None
    concat_header: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    complete: bool | None = None

    @property
    def is_complete(self) -> bool:
        if self.complete is not None:
            return self.complete
        return self.length is not None and self.offset == self.length


@dataclass(frozen=True, slots=True)
class Appended:
    """A successful PATCH: the new offset and, with expiration, the new deadline."""

    offset: int
    expires: datetime | None = None
    complete: bool | None = None


def tus_headers(extra: Mapping[str, str] | None, tus: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers with the tus ones on top; a caller's header that differs only in
    case from a tus one is dropped, so the protocol value always wins (as in aiotus)."""
    ours = {name.lower() for name in tus}
    merged = {k: v for k, v in (extra or {}).items() if k.lower() not in ours}
    merged.update(tus)
    return merged


def with_method_override(head: RequestHead) -> RequestHead:
    """Send a PATCH or DELETE as POST + ``X-HTTP-Method-Override`` (spec §1.1), for networks
    that block those methods (tus-js-client ``overridePatchMethod``)."""
    if head.method not in ("PATCH", "DELETE"):
        return head
    extra = {headers.X_HTTP_METHOD_OVERRIDE: head.method}
    return messages.RequestHead("POST", head.url, tus_headers(head.headers, extra))


def resolve_location(base: URL, location: str) -> URL:
    """Resolve a ``Location`` against the URL that returned it (RFC 3986 §5.2), except that
    a bare name (``abc``, ``abc/def``) from an endpoint without a trailing slash names a child
    of the endpoint: ``http://h/files`` + ``abc`` is ``http://h/files/abc``, as such servers
    mean (and aiotus does); ``/files/abc``, ``./abc``, ``../abc`` and absolute URLs resolve
    per RFC 3986.
    """
    try:
        reference = URL(location.strip())
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"Location {location!r} is not a URL") from exc
    bare = not reference.absolute and reference.path[:1] not in ("", "/", ".")
    if bare and not base.path.endswith("/"):
        base = base.with_path(base.path + "/")
    resolved = base.join(reference)
    if not resolved.absolute:
        raise ProtocolError(f"Location {location!r} does not resolve to an absolute URL")
    return resolved


def response_error(
    response: ResponseHead, method: str, expected: tuple[int, ...] = ()
) -> ResponseError:
    """The typed error for an unexpected status, with a one-line readable message (with the
    reason phrase, and aiotus's "Wrong status code" for a success that is the wrong one)."""
    detail = describe_body(response.body, response.headers.get(headers.CONTENT_TYPE))
    if detail == f"{response.status}: {response.reason}":
        detail = ""  # aiohttp's default error body repeats the status line
    message = f"{method} {response.url} answered {response.status} {response.reason}".rstrip()
    if expected and 200 <= response.status < 300:
        wanted = " or ".join(str(status) for status in expected)
        message = f"{message}: Wrong status code, expected {wanted}"
    if detail:
        message = f"{message}: {detail}"
    cls = UploadNotFound if response.status in (404, 410) else ResponseError
    return cls(
        message,
        status=response.status,
        headers=response.headers,
        method=method,
        url=str(response.url),
        body=response.body,
    )


def expect(response: ResponseHead, method: str, *statuses: int) -> None:
    """Raise the typed error unless the status is one of ``statuses`` (default: any 2xx)."""
    ok = response.status in statuses if statuses else 200 <= response.status < 300
    if not ok:
        raise response_error(response, method, statuses)


def _offset(response: ResponseHead, method: str) -> int:
    """``Upload-Offset``, with aiotus's wording for a missing or malformed one."""
    value = response.headers.get(headers.UPLOAD_OFFSET)
    if value is None:
        raise ProtocolError(
            f'{method} {response.url}: HTTP header "Upload-Offset" not included in server response.'
        )
    try:
        return parse_offset(value)
    except InvalidHeader as exc:
        raise ProtocolError(
            f'{method} {response.url}: Unable to convert "Upload-Offset" header: {exc.message}'
        ) from exc


def _expires(response: ResponseHead) -> datetime | None:
    value = response.headers.get(headers.UPLOAD_EXPIRES)
    if value is None:
        return None
    try:
        return parse_http_date(value)
    except InvalidHeader:
        return None  # a bad date must not fail an upload that otherwise works


def checksum_header(algorithm: str, data: bytes) -> str:
    """``Upload-Checksum`` for one request body."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return format_checksum(Checksum(algorithm, hasher.digest()))


# -- OPTIONS ------------------------------------------------------------------------------


def options_request(url: URL, extra: Mapping[str, str] | None = None) -> RequestHead:
    """OPTIONS: clients SHOULD NOT send ``Tus-Resumable`` here (spec §1.2)."""
    return messages.RequestHead("OPTIONS", url, tus_headers(extra, {}))


def read_options(response: ResponseHead) -> ServerCapabilities:
    """The server's capabilities; a successful OPTIONS MUST carry ``Tus-Version``."""
    expect(response, "OPTIONS")
    if headers.TUS_VERSION not in response.headers:
        raise ProtocolError(f"OPTIONS {response.url}: no {headers.TUS_VERSION} header")
    try:
        return ServerCapabilities.from_headers(response.headers)
    except InvalidHeader as exc:
        raise ProtocolError(f"OPTIONS {response.url}: {exc.message}") from exc


# -- POST (creation) ----------------------------------------------------------------------


def creation_request(
    url: URL,
    *,
    length: int | None,
    metadata_header: str | None = None,
    concat: str | None = None,
    body_length: int | None = None,
    checksum: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> RequestHead:
    """POST that creates an upload (spec §3.1-3.3, §3.8).

    Args:
        length: ``Upload-Length``; None sends ``Upload-Defer-Length: 1``, except for a
            final concatenation (``concat`` starting with ``final;``), which carries neither.
        metadata_header: an encoded ``Upload-Metadata``; empty or None sends none.
        concat: ``Upload-Concat`` (``partial`` or ``final;...``).
        body_length: bytes sent in the POST body (creation-with-upload), or None.
        checksum: ``Upload-Checksum`` of that body.
    """
    tus: dict[str, str] = {headers.TUS_RESUMABLE: headers.PROTOCOL_VERSION}
    is_final = concat is not None and concat.startswith("final")
    if length is not None:
        tus[headers.UPLOAD_LENGTH] = format_uint(length)
    elif not is_final:
        tus[headers.UPLOAD_DEFER_LENGTH] = "1"
    if metadata_header:
        tus[headers.UPLOAD_METADATA] = metadata_header
    if concat is not None:
        tus[headers.UPLOAD_CONCAT] = concat
    if body_length is not None:
        tus[headers.CONTENT_TYPE] = headers.OFFSET_OCTET_STREAM
        tus[headers.CONTENT_LENGTH] = format_uint(body_length)
        if checksum is not None:
            tus[headers.UPLOAD_CHECKSUM] = checksum
    return messages.RequestHead("POST", url, tus_headers(extra, tus))


def read_creation(response: ResponseHead, *, sent_body: int | None = None) -> Created:
    """A creation answer: 201 with ``Location`` (MUST); ``Upload-Offset`` when a body went."""
    expect(response, "POST", 201)
    location = response.headers.get(headers.LOCATION)
    if not location:
        raise ProtocolError(f'POST {response.url} answered 201 with no "Location" header')
    resolved = resolve_location(response.url, location)
    offset: int | None = None
    if sent_body is not None and headers.UPLOAD_OFFSET in response.headers:
        offset = _offset(response, "POST")
        if offset > sent_body:
            raise ProtocolError(
                f"POST {response.url}: Upload-Offset {offset} is more than the "
                f"{sent_body} bytes sent"
            )
    return Created(resolved, offset, _expires(response))


# -- HEAD ---------------------------------------------------------------------------------


def offset_request(location: URL, extra: Mapping[str, str] | None = None) -> RequestHead:
    """HEAD that reads an upload's offset, length and metadata."""
    return messages.RequestHead(
        "HEAD", location, tus_headers(extra, {headers.TUS_RESUMABLE: headers.PROTOCOL_VERSION})
    )


def read_offset(response: ResponseHead, location: URL) -> UploadStatus:
    """A HEAD answer: 2xx with ``Upload-Offset`` (MUST); 404/410 raise UploadNotFound."""
    expect(response, "HEAD")
    offset = _offset(response, "HEAD")
    length: int | None = None
    raw_length = response.headers.get(headers.UPLOAD_LENGTH)
    try:
        if raw_length is not None:
            length = parse_length(raw_length)
        elif headers.UPLOAD_DEFER_LENGTH in response.headers:
            parse_defer_length(response.headers[headers.UPLOAD_DEFER_LENGTH])
    except InvalidHeader as exc:
        raise ProtocolError(f"HEAD {response.url}: {exc.message}") from exc
    if length is not None and offset > length:
        raise ProtocolError(f"HEAD {response.url}: Upload-Offset {offset} > length {length}")
    return UploadStatus(
        url=location,
        offset=offset,
        length=length,
        expires=_expires(response),
        metadata_header=response.headers.get(headers.UPLOAD_METADATA),
        concat_header=response.headers.get(headers.UPLOAD_CONCAT),
    )


def read_metadata(status: UploadStatus) -> dict[str, bytes | None]:
    """Decode the metadata a HEAD returned; a malformed header is a protocol error."""
    return _decode_metadata(status.metadata_header, status.url)


def read_head_metadata(response: ResponseHead) -> dict[str, bytes | None]:
    """A HEAD answer read for its metadata alone: no ``Upload-Offset`` needed (aiotus's
    ``metadata`` does not need it, and a final upload being concatenated may lack it)."""
    expect(response, "HEAD")
    return _decode_metadata(response.headers.get(headers.UPLOAD_METADATA), response.url)


def _decode_metadata(header: str | None, url: URL) -> dict[str, bytes | None]:
    try:
        return decode_metadata(header, max_size=None, max_pairs=None)
    except MetadataError as exc:
        raise ProtocolError(f"HEAD {url}: Unable to parse metadata: {exc.message}") from exc


# -- PATCH --------------------------------------------------------------------------------


def append_request(
    location: URL,
    *,
    offset: int,
    body_length: int | None,
    declare_length: int | None = None,
    checksum: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> RequestHead:
    """PATCH that appends a body at ``offset`` (spec §1.2 PATCH).

    Args:
        body_length: the body size, sent as ``Content-Length``; None streams it chunked.
        declare_length: ``Upload-Length`` for a deferred upload, sent once it is known.
        checksum: ``Upload-Checksum`` of the body.
    """
    tus = {
        headers.TUS_RESUMABLE: headers.PROTOCOL_VERSION,
        headers.UPLOAD_OFFSET: format_uint(offset),
        headers.CONTENT_TYPE: headers.OFFSET_OCTET_STREAM,
    }
    if body_length is not None:
        tus[headers.CONTENT_LENGTH] = format_uint(body_length)
    if declare_length is not None:
        tus[headers.UPLOAD_LENGTH] = format_uint(declare_length)
    if checksum is not None:
        tus[headers.UPLOAD_CHECKSUM] = checksum
    return messages.RequestHead("PATCH", location, tus_headers(extra, tus))


def read_append(response: ResponseHead, *, offset: int, body_length: int | None) -> Appended:
    """A PATCH answer: 204 (any 2xx) with the new ``Upload-Offset``, which must lie between
    the offset sent and that plus the body (the server may keep only part of it)."""
    expect(response, "PATCH")
    new_offset = _offset(response, "PATCH")
    upper = None if body_length is None else offset + body_length
    if new_offset < offset or (upper is not None and new_offset > upper):
        raise ProtocolError(
            f"PATCH {response.url}: Upload-Offset {new_offset} is outside "
            f"[{offset}, {upper if upper is not None else '...'}]"
        )
    return Appended(new_offset, _expires(response))


# -- DELETE -------------------------------------------------------------------------------


def termination_request(location: URL, extra: Mapping[str, str] | None = None) -> RequestHead:
    """DELETE that terminates an upload (spec §3.7)."""
    return messages.RequestHead(
        "DELETE", location, tus_headers(extra, {headers.TUS_RESUMABLE: headers.PROTOCOL_VERSION})
    )


def read_termination(response: ResponseHead) -> None:
    """A termination answer: 204 (any 2xx); 404/410 raise UploadNotFound."""
    expect(response, "DELETE")


# -- concatenation ------------------------------------------------------------------------


def split_ranges(size: int, parts: int) -> list[tuple[int, int]]:
    """Split ``[0, size)`` into ``parts`` contiguous ranges as even as possible; never more
    ranges than bytes (an empty source gets one empty range)."""
    if parts < 1:
        raise ValueError("parts must be >= 1")
    count = max(1, min(parts, size))
    step, extra = divmod(size, count)
    ranges: list[tuple[int, int]] = []
    start = 0
    for index in range(count):
        end = start + step + (1 if index < extra else 0)
        ranges.append((start, end))
        start = end
    return ranges


def final_concat(urls: list[URL]) -> str:
    """``Upload-Concat`` for a final upload: ``final;`` and the partial URLs, in order."""
    return "final;" + " ".join(str(url) for url in urls)
