"""The data models both sides exchange: :class:`Resource` (one upload) and
:class:`ServerCapabilities` (what an OPTIONS answer says). Pure, no I/O.

``Resource`` is what a store persists as an upload's info file (like tusd's ``<id>.info``),
so it is a frozen pydantic model with an exact JSON round trip; changes go through
``model_copy(update=...)``. aiohttp-tus's ``Resource`` names (``uid``, ``file_size``,
``file_name``, ``metadata_header``, ``offset``) are offered as properties and aliases, so
``on_upload_done`` callbacks written for aiohttp-tus keep working.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, JsonValue, model_validator

from tuskit_common import headers
from tuskit_common.extensions import Extension, format_extensions, parse_extensions
from tuskit_common.metadata import decode_metadata
from tuskit_common.values import format_list, format_uint, parse_algorithms, parse_list, parse_uint


class Resource(BaseModel):
    """One upload as a server knows it.

    Attributes:
        id: the upload id, the last segment of its URL (alias ``uid``).
        length: the total size in bytes, or None while the length is deferred.
        offset: bytes received and stored so far.
        metadata_header: ``Upload-Metadata`` exactly as received, echoed verbatim on HEAD.
        concat_header: ``Upload-Concat`` exactly as received, echoed verbatim on HEAD.
        is_partial: created with ``Upload-Concat: partial``.
        is_final: created with ``Upload-Concat: final;...``; ``partial_ids`` lists its parts.
        created_at / expires_at: aware datetimes; expires_at is None when it never expires.
        storage: free-form, JSON-serialisable details owned by the store.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1, validation_alias=AliasChoices("id", "uid"))
    length: int | None = Field(default=None, ge=0)
    offset: int = Field(default=0, ge=0)
    metadata_header: str | None = None
    concat_header: str | None = None
    is_partial: bool = False
    is_final: bool = False
    partial_ids: tuple[str, ...] = ()
    created_at: datetime
    expires_at: datetime | None = None
    storage: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.length is not None and self.offset > self.length:
            raise ValueError(f"offset {self.offset} is past length {self.length}")
        if self.is_partial and self.is_final:
            raise ValueError("an upload cannot be both partial and final")
        if self.is_final != bool(self.partial_ids):
            raise ValueError("partial_ids are given exactly for final uploads")
        return self

    @property
    def metadata(self) -> dict[str, bytes | None]:
        """The decoded ``Upload-Metadata`` (the header was validated when it was received)."""
        return decode_metadata(self.metadata_header, max_size=None, max_pairs=None)

    @property
    def is_deferred(self) -> bool:
        """True while the length is not known yet (creation-defer-length)."""
        return self.length is None

    @property
    def is_complete(self) -> bool:
        """True once every byte of a known length has been stored."""
        return self.length is not None and self.offset == self.length

    @property
    def uid(self) -> str:
        """aiohttp-tus's name for :attr:`id`."""
        return self.id

    @property
    def file_size(self) -> int | None:
        """aiohttp-tus's name for :attr:`length`."""
        return self.length

    @property
    def file_name(self) -> str | None:
        """The ``filename`` metadata as text (display only, never a path), or None."""
        raw = self.metadata.get("filename")
        return raw.decode("utf-8", "replace") if raw else None

    def to_json(self) -> str:
        """Serialise for an info file."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str | bytes) -> "Resource":
        """Load from :meth:`to_json` output."""
        return cls.model_validate_json(data)


@dataclass(frozen=True, slots=True)
class ServerCapabilities:
    """What a server announces in its OPTIONS response (spec §1.2 OPTIONS)."""

    versions: tuple[str, ...] = (headers.PROTOCOL_VERSION,)
    extensions: frozenset[Extension] = frozenset()
    max_size: int | None = None
    checksum_algorithms: tuple[str, ...] = ()

    @classmethod
    def from_headers(cls, response_headers: Mapping[str, str]) -> "ServerCapabilities":
        """Read an OPTIONS response's headers (any case-insensitive mapping).

        Raises:
            InvalidHeader: ``Tus-Max-Size`` is present but not a non-negative integer.
        """
        max_size = response_headers.get(headers.TUS_MAX_SIZE)
        return cls(
            versions=parse_list(response_headers.get(headers.TUS_VERSION)),
            extensions=parse_extensions(response_headers.get(headers.TUS_EXTENSION)),
            max_size=None if max_size is None else parse_uint(max_size, headers.TUS_MAX_SIZE),
            checksum_algorithms=parse_algorithms(
                response_headers.get(headers.TUS_CHECKSUM_ALGORITHM)
            ),
        )

    def to_headers(self) -> dict[str, str]:
        """The OPTIONS response headers that announce these capabilities."""
        result = {headers.TUS_VERSION: format_list(self.versions)}
        if self.extensions:
            result[headers.TUS_EXTENSION] = format_extensions(self.extensions)
        if self.max_size is not None:
            result[headers.TUS_MAX_SIZE] = format_uint(self.max_size)
        if self.checksum_algorithms:
            result[headers.TUS_CHECKSUM_ALGORITHM] = format_list(self.checksum_algorithms)
        return result

    def supports(self, extension: Extension) -> bool:
        """True when the server advertises ``extension``."""
        return extension in self.extensions
