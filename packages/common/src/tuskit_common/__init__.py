"""tuskit_common: the tus 1.0.0 vocabulary shared by tuskit's client and server.

Design: everything here is pure (standard library and pydantic; no aiohttp, no asyncio, no
clock, no id generation), so both sides and their tests can rely on it without an event loop.

- :mod:`tuskit_common.headers` — header names, ``PROTOCOL_VERSION``, the PATCH media type.
- :mod:`tuskit_common.extensions` — :class:`Extension` and the ``Tus-Extension`` codec.
- :mod:`tuskit_common.metadata` — the strict ``Upload-Metadata`` codec.
- :mod:`tuskit_common.values` — parse/format single header values.
- :mod:`tuskit_common.checksums` — algorithm name -> incremental hasher.
- :mod:`tuskit_common.models` — :class:`Resource`, :class:`ServerCapabilities`.
- :mod:`tuskit_common.errors` — the :class:`TusError` tree with HTTP statuses.
- :mod:`tuskit_common.messages` — :class:`RequestHead` / :class:`ResponseHead`.
"""

from tuskit_common import checksums, headers, messages, values
from tuskit_common._version import __version__
from tuskit_common.checksums import ALGORITHMS, Hasher, check_checksum, new_hasher
from tuskit_common.errors import (
    BadRequest,
    ChecksumMismatch,
    ExtensionUnavailable,
    Forbidden,
    Gone,
    InvalidHeader,
    Locked,
    MetadataError,
    MethodNotAllowed,
    NotFound,
    OffsetMismatch,
    ProtocolError,
    ServerError,
    ServiceUnavailable,
    TooLarge,
    TusError,
    UnsupportedChecksum,
    UnsupportedMediaType,
    VersionUnsupported,
)
from tuskit_common.extensions import Extension, format_extensions, parse_extensions
from tuskit_common.headers import OFFSET_OCTET_STREAM, PROTOCOL_VERSION, SUPPORTED_VERSIONS
from tuskit_common.messages import RequestHead, ResponseHead
from tuskit_common.metadata import Metadata, decode_metadata, encode_metadata
from tuskit_common.models import Resource, ServerCapabilities
from tuskit_common.values import Checksum, Concat

__all__ = [
    "ALGORITHMS",
    "OFFSET_OCTET_STREAM",
    "PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "BadRequest",
    "Checksum",
    "ChecksumMismatch",
    "Concat",
    "Extension",
    "ExtensionUnavailable",
    "Forbidden",
    "Gone",
    "Hasher",
    "InvalidHeader",
    "Locked",
    "Metadata",
    "MetadataError",
    "MethodNotAllowed",
    "NotFound",
    "OffsetMismatch",
    "ProtocolError",
    "RequestHead",
    "Resource",
    "ResponseHead",
    "ServerCapabilities",
    "ServerError",
    "ServiceUnavailable",
    "TooLarge",
    "TusError",
    "UnsupportedChecksum",
    "UnsupportedMediaType",
    "VersionUnsupported",
    "__version__",
    "check_checksum",
    "checksums",
    "decode_metadata",
    "encode_metadata",
    "format_extensions",
    "headers",
    "messages",
    "new_hasher",
    "parse_extensions",
    "values",
]
