"""Message heads: a request line with headers, a status with headers. Pure data, no I/O.

tus works on whole HTTP messages, so both sides reason about heads while the I/O layer moves
the bodies (as h11 keeps ``Data`` apart from ``Request``). The header names are the constants
of :mod:`tuskit_common.headers`, the same ones the server's rules read and write.

A head carries the URL in the type its side uses (``yarl.URL`` in the client, plain ``str``
elsewhere); this package imports no URL library, so the type is a parameter.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

U = TypeVar("U")


# Not slots=True: on Python 3.11 a frozen slotted generic dataclass cannot be built through
# its parametrised alias (``RequestHead[URL](...)``), which sets ``__orig_class__``.
@dataclass(frozen=True)
class RequestHead(Generic[U]):
    """A request line and headers; the body travels separately.

    Attributes:
        method: the HTTP method (``POST``, ``PATCH``, ...).
        url: the target.
        headers: the request headers, tus ones spelt as in :mod:`tuskit_common.headers`.
    """

    method: str
    url: U
    headers: Mapping[str, str]


@dataclass(frozen=True)
class ResponseHead(Generic[U]):
    """A response status and headers (a case-insensitive mapping when read off the wire).

    Attributes:
        status: the HTTP status code.
        headers: the response headers.
        url: the URL that answered (after redirects); ``Location`` resolves against it.
        reason: the reason phrase, for messages.
        body: the start of an error body, for messages; empty on success.
    """

    status: int
    headers: Mapping[str, str]
    url: U
    reason: str = ""
    body: str = ""


__all__ = ["RequestHead", "ResponseHead"]
