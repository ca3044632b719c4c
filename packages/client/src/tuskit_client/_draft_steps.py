"""The IETF resumable-upload draft, spelled as a :class:`~tuskit_client._wire.Wire`. No I/O.

draft-ietf-httpbis-resumable-upload: every request carries ``Upload-Draft-Interop-Version``;
creation is a POST to the endpoint with ``Upload-Complete`` (``?1`` when its content is the
whole representation) and ``Upload-Length`` when known; offset retrieval is a HEAD; appends
are PATCHes of ``application/partial-upload`` (interop 6 and later) with ``Upload-Offset``
and ``Upload-Complete``; cancellation is a DELETE. A 2xx to a creation or append means its
content was processed in full, so a missing ``Upload-Offset`` there is the sent end (interop
7 dropped it from append answers). The draft has no ``Upload-Metadata``: a file name goes in
``Content-Disposition`` and a media type in ``Content-Type`` (as tusd reads them).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from yarl import URL

from tuskit_client import _steps
from tuskit_client._draft_fields import (
    LATEST,
    accepts_partial_upload,
    completeness,
    draft_version,
    read_integer,
    read_limits,
)
from tuskit_client._steps import (
    Appended,
    Created,
    RequestHead,
    ResponseHead,
    UploadStatus,
    resolve_location,
    tus_headers,
)
from tuskit_client._wire import Append, Creation
from tuskit_client.exceptions import CapabilityError, ProtocolError
from tuskit_common import Extension, ServerCapabilities, headers, messages
from tuskit_common.errors import MetadataError
from tuskit_common.ietf_draft import (
    ACCEPT_PATCH,
    UPLOAD_DRAFT_INTEROP_VERSION,
    UPLOAD_LIMIT,
    DraftVersion,
    format_integer,
)
from tuskit_common.metadata import decode_metadata

#: Metadata keys the draft can carry, and the field each goes in.
FILENAME_KEYS: Final = ("filename",)
TYPE_KEYS: Final = ("filetype", "mime_type")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
_DRAFT_EXTENSIONS: Final = frozenset(
    {
        Extension.CREATION,
        Extension.CREATION_WITH_UPLOAD,
        Extension.CREATION_DEFER_LENGTH,
        Extension.TERMINATION,
    }
)


@dataclass(frozen=True, slots=True)
class DraftCapabilities(ServerCapabilities):
    """What a draft server's OPTIONS (``Upload-Limit``) allows, as the flow's capabilities:
    creation with data, unknown lengths and cancellation are part of the draft itself."""

    max_append_size: int | None = None


#: What a draft server is assumed to offer when its OPTIONS answer says nothing.
ASSUMED: Final = DraftCapabilities(versions=(), extensions=_DRAFT_EXTENSIONS)


def draft_metadata(header: str | None) -> tuple[dict[str, str], list[str]]:
    """The creation fields for tus metadata (``filename`` -> ``Content-Disposition``,
    ``filetype``/``mime_type`` -> ``Content-Type``) and the keys the draft cannot carry."""
    try:
        values = decode_metadata(header, max_size=None, max_pairs=None) if header else {}
    except MetadataError as exc:
        return {}, [f"metadata ({exc.message})"]
    fields: dict[str, str] = {}
    left = sorted(key for key in values if key not in FILENAME_KEYS + TYPE_KEYS)
    types = {value for key in TYPE_KEYS if (value := values.get(key)) is not None}
    media = types.pop().decode("utf-8", "replace") if len(types) == 1 else None
    if types or (media is not None and not _MEDIA_TYPE.fullmatch(media)):
        left.append("filetype (not one media type)")
    elif media is not None:
        fields[headers.CONTENT_TYPE] = media
    name = values.get("filename")
    if name is not None:
        fields[headers.CONTENT_DISPOSITION] = _disposition(name.decode("utf-8", "replace"))
    return fields, left


def _disposition(name: str) -> str:
    """``inline`` with the name as a quoted string, plus RFC 8187 ``filename*`` when it is
    not plain ASCII (the draft recommends the inline disposition type)."""
    plain = name.encode("ascii", "replace").decode().replace("\\", "\\\\").replace('"', '\\"')
    plain = "".join(ch if ch.isprintable() else "_" for ch in plain)
    value = f'inline; filename="{plain}"'
    if not name.isascii() or plain != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


@dataclass(frozen=True, slots=True)
class DraftWire:
    """The draft at one interop version (3-8; :data:`LATEST` by default)."""

    version: int = LATEST

    def __post_init__(self) -> None:
        draft_version(self.version)  # a clear ValueError for a version not spoken

    @property
    def spec(self) -> DraftVersion:
        """What this interop version says on the wire."""
        return draft_version(self.version)

    @property
    def name(self) -> str:
        return f"IETF draft (interop version {self.version})"

    @property
    def assumed(self) -> ServerCapabilities | None:
        return ASSUMED

    def unfit(self, *, metadata_header: str | None, checksum: str | None) -> str | None:
        if checksum is not None:
            return "the IETF draft has no Upload-Checksum (tus 1.0.0's checksum extension)"
        _, left = draft_metadata(metadata_header)
        if left:
            return (
                "the IETF draft carries only filename and filetype metadata "
                f"(Content-Disposition, Content-Type), not {', '.join(left)}"
            )
        return None

    def _fields(self, extra: Mapping[str, str] | None, own: Mapping[str, str]) -> dict[str, str]:
        return tus_headers(extra, {UPLOAD_DRAFT_INTEROP_VERSION: str(self.version), **own})

    # -- OPTIONS --------------------------------------------------------------------------

    def options_request(self, url: URL, extra: Mapping[str, str] | None) -> RequestHead:
        return messages.RequestHead("OPTIONS", url, self._fields(extra, {}))

    def offered(self, response: ResponseHead) -> bool:
        """Whether an OPTIONS answer announces the draft at this version: an echoed interop
        version, ``Upload-Limit`` (tusd sends it only to a version it speaks), or
        ``Accept-Patch`` listing ``application/partial-upload`` (draft -10 and later)."""
        if not 200 <= response.status < 300:
            return False
        fields = response.headers
        echoed = fields.get(UPLOAD_DRAFT_INTEROP_VERSION)
        if echoed is not None:
            return echoed.strip() == str(self.version)
        return UPLOAD_LIMIT in fields or accepts_partial_upload(fields.get(ACCEPT_PATCH))

    def read_options(self, response: ResponseHead) -> ServerCapabilities:
        if not 200 <= response.status < 300:
            raise ProtocolError(f"OPTIONS {response.url} answered {response.status}")
        limits = read_limits(response.headers.get(UPLOAD_LIMIT), self.spec)
        if limits is None:
            return ASSUMED
        return DraftCapabilities(
            versions=(),
            extensions=_DRAFT_EXTENSIONS,
            max_size=limits.max_size,
            max_append_size=limits.max_append_size,
        )

    # -- creation -------------------------------------------------------------------------

    def creation_request(
        self, url: URL, creation: Creation, extra: Mapping[str, str] | None
    ) -> RequestHead:
        unfit = self.unfit(metadata_header=creation.metadata_header, checksum=creation.checksum)
        if unfit is not None or creation.concat is not None:
            raise CapabilityError(unfit or "the IETF draft has no concatenation")
        own, _ = draft_metadata(creation.metadata_header)
        own.update([self.spec.format_complete(creation.complete)])
        own[headers.CONTENT_LENGTH] = format_integer(creation.body_length or 0)
        if creation.length is not None:
            own[headers.UPLOAD_LENGTH] = format_integer(creation.length)
        return messages.RequestHead("POST", url, self._fields(extra, own))

    def read_creation(self, response: ResponseHead, creation: Creation) -> Created:
        """Any 2xx: the content was processed; a ``Location`` is needed unless the upload
        is complete (then the answer is the target resource's own and may have none)."""
        self._expect(response, "POST")
        done = completeness(response.headers, self.spec)
        done = creation.complete if done is None else done
        location = response.headers.get(headers.LOCATION)
        if not location and not done:
            raise ProtocolError(
                f'POST {response.url} answered {response.status} with no "Location"'
            )
        url = resolve_location(response.url, location) if location else response.url
        sent = creation.body_length or 0
        offset = self._offset(response, "POST", default=sent)
        if offset > sent:
            raise ProtocolError(
                f"POST {response.url}: Upload-Offset {offset} is more than the {sent} bytes sent"
            )
        return Created(url, offset, None, complete=done)

    # -- HEAD -----------------------------------------------------------------------------

    def offset_request(self, location: URL, extra: Mapping[str, str] | None) -> RequestHead:
        return messages.RequestHead("HEAD", location, self._fields(extra, {}))

    def read_offset(self, response: ResponseHead, location: URL) -> UploadStatus:
        self._expect(response, "HEAD")
        offset = self._offset(response, "HEAD", default=None)
        length = read_integer(response.headers.get(headers.UPLOAD_LENGTH), headers.UPLOAD_LENGTH)
        if length is not None and offset > length:
            raise ProtocolError(f"HEAD {response.url}: Upload-Offset {offset} > length {length}")
        complete = completeness(response.headers, self.spec)
        return UploadStatus(url=location, offset=offset, length=length, complete=complete)

    # -- PATCH ----------------------------------------------------------------------------

    def append_request(
        self, location: URL, append: Append, extra: Mapping[str, str] | None
    ) -> RequestHead:
        """``declare_length`` needs no field: ``Upload-Complete: ?1`` with the body's
        ``Content-Length`` gives the length (draft §4.1.3)."""
        own = {headers.UPLOAD_OFFSET: format_integer(append.offset)}
        own.update([self.spec.format_complete(append.complete)])
        if self.spec.append_media_type is not None:
            own[headers.CONTENT_TYPE] = self.spec.append_media_type
        if append.body_length is not None:
            own[headers.CONTENT_LENGTH] = format_integer(append.body_length)
        return messages.RequestHead("PATCH", location, self._fields(extra, own))

    def read_append(self, response: ResponseHead, append: Append) -> Appended:
        self._expect(response, "PATCH")
        offset = append.offset
        upper = None if append.body_length is None else offset + append.body_length
        new_offset = self._offset(response, "PATCH", default=upper)
        if new_offset < offset or (upper is not None and new_offset > upper):
            raise ProtocolError(
                f"PATCH {response.url}: Upload-Offset {new_offset} is outside "
                f"[{offset}, {upper if upper is not None else '...'}]"
            )
        done = completeness(response.headers, self.spec)
        if done is None:
            done = append.complete and new_offset == upper
        return Appended(new_offset, None, complete=done)

    # -- DELETE ---------------------------------------------------------------------------

    def termination_request(self, location: URL, extra: Mapping[str, str] | None) -> RequestHead:
        return messages.RequestHead("DELETE", location, self._fields(extra, {}))

    def read_termination(self, response: ResponseHead) -> None:
        self._expect(response, "DELETE")

    # -- shared ---------------------------------------------------------------------------

    def _expect(self, response: ResponseHead, method: str) -> None:
        """Any 2xx, else the typed error; a 412 in tus 1.0.0's words (``Tus-Version`` or
        ``Tus-Resumable``) means the server took the request for tus: it does not speak
        this interop version (tusd answers so to a version it does not know)."""
        tus_answer = headers.TUS_RESUMABLE in response.headers or headers.TUS_VERSION in (
            response.headers
        )
        if response.status == 412 and tus_answer:
            raise CapabilityError(
                f"{method} {response.url}: the server does not speak the {self.name} and "
                "answered in tus 1.0.0; choose another draft version, or protocol 'auto'"
            )
        _steps.expect(response, method)

    @staticmethod
    def _offset(response: ResponseHead, method: str, *, default: int | None) -> int:
        raw = response.headers.get(headers.UPLOAD_OFFSET)
        offset = read_integer(raw, headers.UPLOAD_OFFSET)
        if offset is not None:
            return offset
        if raw is None and default is not None:
            return default
        problem = "is not a non-negative integer" if raw is not None else "is missing"
        raise ProtocolError(f"{method} {response.url}: Upload-Offset {problem}")
