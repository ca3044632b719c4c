"""The client's error tree: what :class:`tuskit_client.Client` raises. No I/O.

aiotus returns ``None`` for almost every failure; the raising API gives the caller a typed
exception instead, with the status, the response headers and a readable message::

    TusError (tuskit_common)
    └── TusClientError
        ├── ProtocolError            the answer is not what the protocol step needs
        │   └── ResponseError        an unexpected status: .status, .headers, .method, .url
        │       └── UploadNotFound   404 / 410: the upload is unknown, expired or terminated
        ├── TransportError           connection or timeout failure (the aiohttp error is __cause__)
        ├── CapabilityError          the server lacks what the call needs, or the size is too big
        └── SourceError              the data source cannot deliver what the upload needs

``ProtocolError`` keeps aiotus's name and meaning - aiotus raises it for a wrong status on
creation as well as for a malformed answer - so ``except aiotus.ProtocolError`` ports
unchanged; catch :class:`ResponseError` to handle statuses alone.
"""

from collections.abc import Mapping

from tuskit_common import TusError


class TusClientError(TusError):
    """Base of every error the client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProtocolError(TusClientError):
    """The server's answer breaks the tus protocol (a 201 without ``Location``, a bad
    ``Upload-Offset``) or has a status the step does not accept (:class:`ResponseError`)."""


class ResponseError(ProtocolError):
    """The server answered with a status the protocol step does not accept.

    Attributes:
        status: the HTTP status code.
        headers: the response headers (a case-insensitive mapping).
        method / url: the request that got this answer.
        body: the first bytes of the response body as text, for the message.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str],
        method: str,
        url: str,
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.method = method
        self.url = url
        self.body = body


class UploadNotFound(ResponseError):
    """404 or 410: the upload does not exist (any more); a new one has to be created."""


class TransportError(TusClientError):
    """The request failed below HTTP: connection refused or reset, or a timeout."""


class CapabilityError(TusClientError):
    """The server does not offer what the call needs (an extension, a checksum algorithm),
    or the upload is larger than its ``Tus-Max-Size``. Raised before any data is sent."""


class SourceError(TusClientError, ValueError):
    """The source cannot provide the bytes the upload needs: a non-seekable stream asked to
    rewind past its resend buffer, or a size that differs from the one declared."""
