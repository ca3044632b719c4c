"""The blocking I/O edge of :mod:`tuskit_client.sync`: heads and bodies over ``http.client``,
and sources read with plain file calls.

One kept-alive connection per origin. Everything below HTTP (refused or reset connections,
timeouts, a malformed answer) becomes :class:`TransportError` with the cause as
``__cause__``; a kept connection that the server closed while it was idle is noticed (it
reads as ready) and replaced before a request goes out on it. Only the first bytes of an
error body are kept; the rest of a short body is read so the connection can be reused, a long
one closes it.
"""

import http.client
import io
import os
import select
import ssl as _ssl
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from multidict import CIMultiDict, CIMultiDictProxy

from tuskit_client._sources import PIECE, SourceLike
from tuskit_client._steps import RequestHead, ResponseHead, with_method_override
from tuskit_client._types import SSLArgument
from tuskit_client.exceptions import SourceError, SourceTruncated, TransportError
from tuskit_client.log import logger
from tuskit_common import headers, messages

_ERROR_BODY_LIMIT: Final = 1024
#: A body up to this size is read to the end so that the connection can be used again.
_DRAIN_LIMIT: Final = 64 * 1024

Pieces = Callable[[], Iterable[bytes | memoryview]]


def _ssl_context(value: SSLArgument) -> _ssl.SSLContext:
    """An ``ssl.SSLContext`` for the configuration's ``ssl`` argument."""
    if isinstance(value, _ssl.SSLContext):
        return value
    if value is True:
        return _ssl.create_default_context()
    if value is False:
        context = _ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = _ssl.CERT_NONE
        return context
    raise ValueError("the blocking client cannot pin a certificate fingerprint; pass a context")


class BlockingHttp:
    """Connections by origin, one ``ssl`` argument and one socket timeout for every request.

    ``override_method`` sends PATCH/DELETE as POST with ``X-HTTP-Method-Override``.
    """

    def __init__(
        self, *, ssl: SSLArgument, timeout: float | None, override_method: bool = False
    ) -> None:
        self.ssl = ssl
        self.timeout = timeout
        self.override_method = override_method
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def close(self) -> None:
        """Close every kept connection."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _connection(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if scheme == "https":
            context = _ssl_context(self.ssl)
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=context
            )
        elif scheme == "http":
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        else:
            raise ValueError(f"cannot send a request to a {scheme!r} URL")
        connection.response_class = _FinalResponse
        return connection

    def send(self, head: RequestHead, body: Pieces | None = None) -> ResponseHead:
        """Send one request and return its head (and the start of an error body)."""
        if self.override_method:
            head = with_method_override(head)
        url = head.url
        if url.raw_host is None or url.port is None:
            raise ValueError(f"not an absolute http(s) URL: {url}")
        key = (url.scheme, url.raw_host, url.port)
        logger.debug("%s %s", head.method, url)
        connection = self._connections.get(key)
        if connection is not None and _dropped(connection):
            connection.close()  # the server closed it while it was idle
        if connection is None:
            connection = self._connections[key] = self._connection(*key)
        try:
            return self._exchange(connection, head, body)
        except (OSError, http.client.HTTPException) as exc:
            self._connections.pop(key).close()
            reason = str(exc) or type(exc).__name__
            raise TransportError(f"{head.method} {url} failed: {reason}") from exc
        except BaseException:
            self._connections.pop(key).close()  # mid-request: the connection is unusable
            raise

    def _exchange(
        self, connection: http.client.HTTPConnection, head: RequestHead, body: Pieces | None
    ) -> ResponseHead:
        connection.putrequest(head.method, head.url.raw_path_qs, skip_accept_encoding=True)
        for name, value in head.headers.items():
            connection.putheader(name, value)
        if body is None and head.method in ("POST", "PATCH"):
            connection.putheader(headers.CONTENT_LENGTH, "0")
        connection.endheaders()
        for piece in body() if body is not None else ():
            connection.send(piece)
        response = connection.getresponse()
        text = ""
        if response.status >= 300 and head.method != "HEAD":
            text = response.read(_ERROR_BODY_LIMIT).decode("utf-8", "replace")
        response.read(_DRAIN_LIMIT)
        if not response.isclosed():
            connection.close()  # more body than is worth reading: a new connection is cheaper
        return messages.ResponseHead(
            status=response.status,
            headers=CIMultiDictProxy(CIMultiDict(response.getheaders())),
            url=head.url,
            reason=response.reason or "",
            body=text,
        )


class _FinalResponse(http.client.HTTPResponse):
    """An answer read past its informational responses: ``http.client`` skips only a 100
    and would take the IETF draft's 104 (Upload Resumption Supported) for the final answer.
    A 101 is left as it is; the others' fields are read and dropped, as aiohttp does."""

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            # http.client's own status-line reader; typeshed does not list the private name.
            line: tuple[str, int, str] = super()._read_status()  # type: ignore[misc]
            if not 101 < line[1] < 200:
                return line
            http.client.parse_headers(self.fp)


class BlockingSource:
    """Bytes in memory or a seekable binary file, read at absolute offsets.

    A path is opened (and closed by :meth:`close`); a caller's file is left open. The size is
    taken once, at the start.
    """

    def __init__(self, source: SourceLike) -> None:
        self.path: Path | None = None
        self._memory: memoryview | None = None
        self._file: BinaryIO | None = None
        self._owned = False
        if isinstance(source, bytes | bytearray | memoryview):
            self._memory = memoryview(source).cast("B")
            self.size: int = len(self._memory)
            return
        if isinstance(source, str | os.PathLike):
            self.path = Path(os.fspath(source)).absolute()
            self._file, self._owned = self.path.open("rb"), True
        elif isinstance(source, io.TextIOBase):
            raise TypeError("cannot upload from a text-mode file: open it in binary mode ('rb')")
        elif hasattr(source, "read") and hasattr(source, "seek") and _seekable(source):
            self._file = source  # type: ignore[assignment]
        else:
            raise TypeError(
                f"the blocking client uploads a path, bytes or a seekable binary file, "
                f"not {type(source).__name__}"
            )
        assert self._file is not None
        self.size = self._file.seek(0, os.SEEK_END)

    def read(self, position: int, size: int) -> tuple[bytes, bool]:
        """Up to ``size`` bytes at ``position`` and whether they reach the end."""
        if self._memory is not None:
            data = bytes(self._memory[position : position + size])
        else:
            assert self._file is not None
            self._file.seek(position)
            data = self._file.read(size)
        return data, position + len(data) >= self.size

    def read_exact(self, position: int, size: int) -> tuple[bytes, bool]:
        """:meth:`read` for a range the source must hold: fewer bytes mean it shrank."""
        data, at_end = self.read(position, size)
        if len(data) < size:
            raise SourceTruncated(
                f"Buffer returned unexpected EOF at {position + len(data)}, "
                f"expected {position + size}"
            )
        return data, at_end

    def pieces(self, start: int, end: int) -> Iterator[bytes]:
        """``[start, end)`` in pieces of at most :data:`PIECE` bytes."""
        for position in range(start, end, PIECE):
            data, _ = self.read_exact(position, min(PIECE, end - position))
            yield data

    def close(self) -> None:
        if self._owned and self._file is not None:
            self._file.close()


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """An idle kept connection with something to read: the server closed it (or broke it)."""
    sock = connection.sock
    if sock is None:
        return False  # http.client connects again by itself
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _seekable(file: object) -> bool:
    check = getattr(file, "seekable", None)
    try:
        return True if check is None else bool(check())
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot tell whether the file is seekable: {exc}") from exc
