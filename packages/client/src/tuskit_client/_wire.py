"""How one protocol spells each step of an upload: the request heads and the reading of
their answers. No I/O.

The upload flow (``_flow``) and its single calls (``_calls``) are written once, against
:class:`Wire`: :data:`TUS` spells tus 1.0.0 with the functions of ``_steps``, and
``_draft_steps.DraftWire`` the IETF resumable-upload draft. Both read answers into the same
values (:class:`Created`, :class:`UploadStatus`, :class:`Appended`), so the chunk loop, the
retry policy, progress and resume do not know which one is spoken.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from yarl import URL

from tuskit_client import _steps
from tuskit_client._steps import Appended, Created, RequestHead, ResponseHead, UploadStatus
from tuskit_common import ServerCapabilities


class Choice(StrEnum):
    """The protocol a client speaks (``Client(protocol=...)``)."""

    TUS = "tus"  # tus 1.0.0 only
    DRAFT = "ietf-draft"  # the IETF draft only
    AUTO = "auto"  # the draft where the server announces it, else tus 1.0.0


#: The ``protocol=`` words :class:`~tuskit_client.Client` takes.
PROTOCOLS: Final = tuple(choice.value for choice in Choice)


def choose_protocol(name: str) -> Choice:
    """A ``protocol=`` argument as a :class:`Choice`; a clear error for any other word."""
    try:
        return Choice(name)
    except ValueError:
        known = ", ".join(repr(choice.value) for choice in Choice)
        raise ValueError(f"protocol {name!r} is not one of {known}") from None


def finished(offset: int, length: int | None, complete: bool | None) -> bool:
    """Whether an upload needs no more appends: the draft says so with ``Upload-Complete``;
    in tus 1.0.0 it is done once its offset reaches its length."""
    if complete is not None:
        return complete
    return length is not None and offset >= length


@dataclass(frozen=True, slots=True)
class Creation:
    """What a creation request says: ``body_length`` bytes go with it (None: no body),
    ``complete`` when they are the whole upload (the draft's ``Upload-Complete: ?1``)."""

    length: int | None
    metadata_header: str | None = None
    concat: str | None = None
    body_length: int | None = None
    checksum: str | None = None
    complete: bool = False


@dataclass(frozen=True, slots=True)
class Append:
    """What one append says: ``body_length`` bytes at ``offset``; ``declare_length`` (tus
    1.0.0's deferred ``Upload-Length``) and ``complete`` when they end the upload."""

    offset: int
    body_length: int | None
    declare_length: int | None = None
    checksum: str | None = None
    complete: bool = False


class Wire(Protocol):
    """One protocol's requests and readings; every method is pure."""

    @property
    def name(self) -> str:
        """How logs and errors name the protocol."""

    @property
    def assumed(self) -> ServerCapabilities | None:
        """What to assume when OPTIONS tells nothing (None: use no optional feature)."""

    def unfit(self, *, metadata_header: str | None, checksum: str | None) -> str | None:
        """Why this protocol cannot carry an upload with these options, or None."""

    def options_request(self, url: URL, extra: Mapping[str, str] | None) -> RequestHead: ...

    def read_options(self, response: ResponseHead) -> ServerCapabilities: ...

    def creation_request(
        self, url: URL, creation: Creation, extra: Mapping[str, str] | None
    ) -> RequestHead: ...

    def read_creation(self, response: ResponseHead, creation: Creation) -> Created: ...

    def offset_request(self, location: URL, extra: Mapping[str, str] | None) -> RequestHead: ...

    def read_offset(self, response: ResponseHead, location: URL) -> UploadStatus: ...

    def append_request(
        self, location: URL, append: Append, extra: Mapping[str, str] | None
    ) -> RequestHead: ...

    def read_append(self, response: ResponseHead, append: Append) -> Appended: ...

    def termination_request(
        self, location: URL, extra: Mapping[str, str] | None
    ) -> RequestHead: ...

    def read_termination(self, response: ResponseHead) -> None: ...


@dataclass(frozen=True, slots=True)
class TusWire:
    """tus 1.0.0, as ``_steps`` spells it; ``complete`` is the draft's and unused here (the
    upload is done when its offset reaches its length)."""

    name: str = "tus 1.0.0"
    assumed: ServerCapabilities | None = None

    def unfit(self, *, metadata_header: str | None, checksum: str | None) -> str | None:
        return None

    # The steps whose signatures already match are ``_steps``'s own functions.
    options_request = staticmethod(_steps.options_request)
    read_options = staticmethod(_steps.read_options)
    offset_request = staticmethod(_steps.offset_request)
    read_offset = staticmethod(_steps.read_offset)
    termination_request = staticmethod(_steps.termination_request)
    read_termination = staticmethod(_steps.read_termination)

    def creation_request(
        self, url: URL, creation: Creation, extra: Mapping[str, str] | None
    ) -> RequestHead:
        return _steps.creation_request(
            url,
            length=creation.length,
            metadata_header=creation.metadata_header,
            concat=creation.concat,
            body_length=creation.body_length,
            checksum=creation.checksum,
            extra=extra,
        )

    def read_creation(self, response: ResponseHead, creation: Creation) -> Created:
        return _steps.read_creation(response, sent_body=creation.body_length)

    def append_request(
        self, location: URL, append: Append, extra: Mapping[str, str] | None
    ) -> RequestHead:
        return _steps.append_request(
            location,
            offset=append.offset,
            body_length=append.body_length,
            declare_length=append.declare_length,
            checksum=append.checksum,
            extra=extra,
        )

    def read_append(self, response: ResponseHead, append: Append) -> Appended:
        return _steps.read_append(response, offset=append.offset, body_length=append.body_length)


#: tus 1.0.0: what every client speaks unless told otherwise.
TUS = TusWire()
