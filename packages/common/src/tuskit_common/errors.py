"""The tus error tree shared by client and server. Pure, no I/O.

Every protocol error carries the HTTP ``status`` a server answers with and a stable,
machine-readable ``code``; the server maps them to responses in exactly one place and the
client raises the same classes when it parses a bad header::

    TusError
    └── ProtocolError                     status, code, message
        ├── BadRequest                    400  bad_request
        │   ├── InvalidHeader             400  invalid_header
        │   ├── MetadataError             400  invalid_metadata   (also a ValueError)
        │   └── UnsupportedChecksum       400  unsupported_checksum_algorithm
        ├── Forbidden                     403  forbidden
        ├── NotFound                      404  not_found
        ├── MethodNotAllowed              405  method_not_allowed
        ├── OffsetMismatch                409  offset_mismatch    (.offset: the current one)
        ├── Gone                          410  gone
        ├── VersionUnsupported            412  version_unsupported
        ├── TooLarge                      413  too_large
        ├── UnsupportedMediaType          415  unsupported_media_type
        ├── Locked                        423  locked
        ├── ChecksumMismatch              460  checksum_mismatch
        ├── ServerError                   500  internal_error
        ├── ExtensionUnavailable          501  extension_unavailable
        └── ServiceUnavailable            503  unavailable
"""

from typing import ClassVar


class TusError(Exception):
    """Base of every error raised by the tuskit packages."""


class ProtocolError(TusError):
    """A request that cannot be served as sent: carries the answer's status and a code.

    Subclasses fix ``status`` and the default ``code``; an instance may refine the code
    (``BadRequest("...", code="invalid_upload_length")``) so that the message stays readable
    while callers can still branch on a stable value.
    """

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "protocol_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class BadRequest(ProtocolError):
    """400: a malformed or contradictory request."""

    status = 400
    default_code = "bad_request"


class InvalidHeader(BadRequest):
    """400: one header value does not parse; the message names the header."""

    default_code = "invalid_header"


class MetadataError(BadRequest, ValueError):
    """400: ``Upload-Metadata`` is malformed or too large; the message names the bad pair."""

    default_code = "invalid_metadata"


class UnsupportedChecksum(BadRequest):
    """400: an ``Upload-Checksum`` algorithm the receiver does not implement (spec §checksum)."""

    default_code = "unsupported_checksum_algorithm"


class Forbidden(ProtocolError):
    """403: the request is understood but not allowed (PATCH to a final upload, a veto)."""

    status = 403
    default_code = "forbidden"


class NotFound(ProtocolError):
    """404: no upload with that id."""

    status = 404
    default_code = "not_found"


class MethodNotAllowed(ProtocolError):
    """405: the method (or an ``X-HTTP-Method-Override``) is not a tus method here."""

    status = 405
    default_code = "method_not_allowed"


class OffsetMismatch(ProtocolError):
    """409: ``Upload-Offset`` differs from the upload's offset; carries the current one."""

    status = 409
    default_code = "offset_mismatch"

    def __init__(self, message: str, *, offset: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.offset = offset


class Gone(ProtocolError):
    """410: the upload expired or was terminated."""

    status = 410
    default_code = "gone"


class VersionUnsupported(ProtocolError):
    """412: ``Tus-Resumable`` is missing or names a version not spoken here."""

    status = 412
    default_code = "version_unsupported"


class TooLarge(ProtocolError):
    """413: the upload or the body would exceed the allowed size."""

    status = 413
    default_code = "too_large"


class UnsupportedMediaType(ProtocolError):
    """415: a PATCH without ``Content-Type: application/offset+octet-stream``."""

    status = 415
    default_code = "unsupported_media_type"


class Locked(ProtocolError):
    """423: the upload is busy and its lock was not released in time; retry later."""

    status = 423
    default_code = "locked"


class ChecksumMismatch(ProtocolError):
    """460: the body does not match ``Upload-Checksum``; the chunk was discarded."""

    status = 460
    default_code = "checksum_mismatch"


class ServerError(ProtocolError):
    """500: an unexpected failure; the upload is left as it was before the request."""

    status = 500
    default_code = "internal_error"


class ExtensionUnavailable(ProtocolError):
    """501: the request needs an extension this server does not offer."""

    status = 501
    default_code = "extension_unavailable"


class ServiceUnavailable(ProtocolError):
    """503: the server is shutting down or overloaded; retry later."""

    status = 503
    default_code = "unavailable"
