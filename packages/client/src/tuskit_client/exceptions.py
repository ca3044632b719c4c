"""The client's error tree: what :class:`tuskit_client.Client` raises. No I/O.

aiotus returns ``None`` for almost every failure; the raising API gives the caller a typed
exception instead, with the status, the response headers and a readable message::

    TusError (tuskit_common)
    ├── ProtocolError (tuskit_common) the protocol error family, shared with the server
    │   └── ProtocolError            (also a TusClientError) the answer is not what the step needs
    │       └── ResponseError        an unexpected status: .status, .headers, .method, .url
    │           └── UploadNotFound   404 / 410: the upload is unknown, expired or terminated
    └── TusClientError
        ├── ProtocolError            (the same class as above)
        ├── TransportError           connection or timeout failure (the aiohttp error is __cause__)
        ├── CapabilityError          the server lacks what the call needs, or the size is too big
        └── SourceError              the data source cannot deliver what the upload needs
            └── SourceTruncated      it ended before its size (a file that shrank)

The client's ``ProtocolError`` is one of ``tuskit_common.ProtocolError``'s family, so one
``except tuskit_common.ProtocolError`` catches a bad answer here as well as a bad header
anywhere (the client re-raises a header that does not parse as its own class, with aiotus's
wording). It keeps aiotus's name and meaning - aiotus raises it for a wrong status on
creation as well as for a malformed answer - so ``except aiotus.ProtocolError`` ports
unchanged; catch :class:`ResponseError` to handle statuses alone. Code written against
aiotus catches aiohttp's classes, so :class:`ResponseError` is also an
``aiohttp.ClientResponseError`` (``.status``, ``.headers``, ``.request_info``) and
:class:`TransportError` also an ``aiohttp.ClientError``.
"""

from collections.abc import Mapping

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from tuskit_common import TusError
from tuskit_common import errors as common


class TusClientError(TusError):
    """Base of every error the client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProtocolError(TusClientError, common.ProtocolError):
    """The server's answer breaks the tus protocol (a 201 without ``Location``, a bad
    ``Upload-Offset``) or has a status the step does not accept (:class:`ResponseError`).

    Its ``status`` hint is 502, what a gateway answers for an upstream that broke the
    protocol; a :class:`ResponseError`'s ``status`` is the one the server sent.
    """

    status = 502
    default_code = "invalid_response"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


# ``code`` stays aiohttp's (a deprecated alias of ``status``) for code written against it.
class ResponseError(ProtocolError, aiohttp.ClientResponseError):  # type: ignore[misc]
    """The server answered with a status the protocol step does not accept.

    Also an ``aiohttp.ClientResponseError``, which is what aiotus lets through; its
    ``message`` is the whole readable line (it includes the reason phrase).

    Attributes:
        status: the HTTP status code.
        headers: the response headers (a case-insensitive mapping).
        method / url: the request that got this answer.
        body: the first bytes of the response body as text, for the message.
    """

    headers: Mapping[str, str]  # type: ignore[assignment]  # aiohttp's is a MultiMapping

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
        # The two bases' constructors take different arguments: aiohttp's runs explicitly,
        # then the tuskit fields and the Exception args are set as TusClientError sets them.
        # real_url given too: aiohttp before 3.12 has no default for it.
        target = URL(url)
        request = aiohttp.RequestInfo(target, method, CIMultiDictProxy(CIMultiDict()), target)
        aiohttp.ClientResponseError.__init__(
            self, request, (), status=status, message=message, headers=None
        )
        self.args = (message,)
        self.message = message
        self.status = status  # type: ignore[misc]  # the status received, per instance
        self.headers = headers
        self.method = method
        self.url = url
        self.body = body

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status})"


class UploadNotFound(ResponseError):
    """404 or 410: the upload does not exist (any more); a new one has to be created."""


class TransportError(TusClientError, aiohttp.ClientError):
    """The request failed below HTTP: connection refused or reset, or a timeout.

    Also an ``aiohttp.ClientError``; the low-level :mod:`tuskit_client.core` and
    :mod:`tuskit_client.creation` functions raise the aiohttp error itself, as aiotus does."""


class CapabilityError(TusClientError):
    """The server does not offer what the call needs (an extension, a checksum algorithm),
    or the upload is larger than its ``Tus-Max-Size``. Raised before any data is sent."""


class SourceError(TusClientError, ValueError):
    """The source cannot provide the bytes the upload needs: a non-seekable stream asked to
    rewind past its resend buffer, or a size that differs from the one declared."""


class SourceTruncated(SourceError, RuntimeError):
    """The source ended before the size it declared: a file that shrank during the upload.
    Also a ``RuntimeError``, as in aiotus ("Buffer returned unexpected EOF")."""
