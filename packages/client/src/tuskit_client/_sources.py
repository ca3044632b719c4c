"""Upload sources: a path, a sync binary file, bytes, or an async iterable of bytes.

Memory stays bounded by the chunk size: seekable sources read the range asked for (file
reads run in ``asyncio.to_thread``, never on the loop), and non-seekable ones keep exactly
one chunk as a resend buffer, so a chunk the server did not fully take can be sent again.
A non-seekable source cannot go back past that buffer; asking for it is a
:class:`SourceError`.
"""

import asyncio
import io
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO, Final, TypeAlias

from tuskit_client.exceptions import SourceError, SourceTruncated

#: Size of the pieces a streamed body is cut into (and progress is reported in).
PIECE: Final = 1024 * 1024

#: Everything :func:`open_source` accepts.
SourceLike: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | AsyncIterable[bytes]
)


class Source(ABC):
    """Bytes addressed by absolute offset, with a size that may be unknown."""

    #: Total size in bytes, or None until the end is reached (deferred length).
    size: int | None = None
    #: True when any range can be read again (needed for parallel parts).
    seekable: bool = True
    #: Absolute path of a file source, for the fingerprint.
    path: Path | None = None

    @abstractmethod
    async def read(self, offset: int, size: int) -> tuple[bytes, bool]:
        """Up to ``size`` bytes at ``offset`` and whether they reach the end of the source.

        Fewer bytes than asked only come at the end.
        """

    async def read_exact(self, offset: int, size: int) -> tuple[bytes, bool]:
        """:meth:`read` for a range the source must hold: fewer bytes mean it shrank."""
        data, at_end = await self.read(offset, size)
        if len(data) < size:
            raise SourceTruncated(
                f"Buffer returned unexpected EOF at {offset + len(data)}, expected {offset + size}"
            )
        return data, at_end

    async def stream(self, offset: int, end: int) -> AsyncIterator[bytes]:
        """The bytes of ``[offset, end)`` in pieces of at most :data:`PIECE` (seekable only).

        The next piece is read while the current one is being sent (one read ahead), so
        reading the source and writing the socket overlap.
        """
        position = offset
        ahead: asyncio.Future[tuple[bytes, bool]] | None = None
        if position < end:
            ahead = asyncio.ensure_future(self.read(position, min(PIECE, end - position)))
        try:
            while ahead is not None:
                data, _ = await ahead
                ahead = None
                if not data:
                    raise SourceTruncated(
                        f"Buffer returned unexpected EOF at {position}, before {end}"
                    )
                position += len(data)
                if position < end:
                    ahead = asyncio.ensure_future(self.read(position, min(PIECE, end - position)))
                yield data
        finally:
            if ahead is not None:
                # Not cancelled: a read in its worker thread would run on without the file
                # lock. It finishes by itself; its result or error is only collected.
                ahead.add_done_callback(_discard)

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the source holds (an opened file)."""

    def file_descriptor(self) -> int | None:
        """The OS file behind the source, for the kernel to send ranges of; None if none."""
        return None


class BytesSource(Source):
    """In-memory bytes: slicing is free, nothing to release."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = memoryview(data).cast("B")
        self.size = len(self._data)

    async def read(self, offset: int, size: int) -> tuple[bytes, bool]:
        end = min(offset + size, len(self._data))
        return bytes(self._data[offset:end]), end >= len(self._data)


class FileSource(Source):
    """A seekable sync binary file, read in a worker thread; the size is taken once."""

    def __init__(self, file: BinaryIO, *, close: bool = False, path: Path | None = None) -> None:
        self._file = file
        self._close = close
        self._lock = asyncio.Lock()  # parallel parts share one file position
        self.path = path

    @classmethod
    async def open(
        cls, file: BinaryIO, *, close: bool = False, path: Path | None = None
    ) -> "FileSource":
        source = cls(file, close=close, path=path)
        source.size = await asyncio.to_thread(file.seek, 0, io.SEEK_END)
        return source

    def _read_at(self, offset: int, size: int) -> bytes:
        self._file.seek(offset)
        return self._file.read(size)

    async def read(self, offset: int, size: int) -> tuple[bytes, bool]:
        async with self._lock:
            data = await asyncio.to_thread(self._read_at, offset, size)
        total = self.size if self.size is not None else 0
        return data, offset + len(data) >= total

    async def aclose(self) -> None:
        if self._close:
            await asyncio.to_thread(self._file.close)

    def file_descriptor(self) -> int | None:
        """The descriptor of a real, seekable OS file (not of an in-memory file object)."""
        try:
            fd = self._file.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is OSError
            return None
        return fd if isinstance(fd, int) and fd >= 0 else None


class StreamSource(Source):
    """A non-seekable stream with a one-chunk resend buffer and one-byte lookahead.

    The lookahead tells whether a chunk is the last one, so a deferred upload can declare
    ``Upload-Length`` on it instead of needing an extra empty PATCH.
    """

    seekable = False

    def __init__(self, pieces: AsyncIterable[bytes], *, size: int | None = None) -> None:
        self._iterator = aiter(pieces)
        self._pending = bytearray()  # read from the stream, not handed out yet
        self._position = 0  # absolute offset of _pending[0]
        self._buffer = b""  # the last chunk handed out (resend buffer)
        self._buffer_start = 0
        self._exhausted = False
        self._declared = size
        self.size = size

    async def _fill(self, wanted: int) -> None:
        while len(self._pending) < wanted and not self._exhausted:
            try:
                piece = await anext(self._iterator)
            except StopAsyncIteration:
                self._exhausted = True
                end = self._position + len(self._pending)
                if self._declared is not None and end != self._declared:
                    raise SourceTruncated(
                        f"stream ended after {end} bytes, but its size was given as "
                        f"{self._declared}"
                    ) from None
                self.size = end
                break
            if not isinstance(piece, bytes | bytearray | memoryview):
                raise SourceError(f"stream yielded {type(piece).__name__}, not bytes")
            self._pending += piece
            end = self._position + len(self._pending)
            if self._declared is not None and end > self._declared:
                raise SourceError(
                    f"stream is longer than the {self._declared} bytes its size was given as"
                )

    def _at_end(self) -> bool:
        return self._exhausted and not self._pending

    async def read(self, offset: int, size: int) -> tuple[bytes, bool]:
        buffer_end = self._buffer_start + len(self._buffer)
        if self._buffer and self._buffer_start <= offset < buffer_end:
            # Resend (part of) the last chunk; the server kept only some of it.
            data = self._buffer[offset - self._buffer_start :][:size]
            await self._fill(1)
            return data, offset + len(data) == buffer_end and self._at_end()
        if offset < self._position:
            raise SourceError(
                f"cannot go back to offset {offset} in a non-seekable source "
                f"(only {self._buffer_start}..{buffer_end} is buffered)"
            )
        skip = offset - self._position
        while skip > 0:  # resuming: drop what the server already has
            await self._fill(min(skip, PIECE))
            if not self._pending:
                raise SourceError(f"stream ended before offset {offset}")
            dropped = min(skip, len(self._pending))
            del self._pending[:dropped]
            self._position += dropped
            skip -= dropped
        await self._fill(size + 1)
        data = bytes(self._pending[:size])
        del self._pending[:size]
        self._buffer, self._buffer_start = data, offset
        self._position = offset + len(data)
        return data, self._at_end()


def _discard(future: "asyncio.Future[tuple[bytes, bool]]") -> None:
    if not future.cancelled():
        future.exception()


async def _file_pieces(file: BinaryIO) -> AsyncIterator[bytes]:
    while piece := await asyncio.to_thread(file.read, PIECE):
        yield piece


def _is_seekable(file: BinaryIO) -> bool:
    """``seekable()`` when the object has it; without it, having ``seek`` is enough (aiotus
    sizes every buffer by seeking to its end, and callers pass such minimal objects)."""
    check = getattr(file, "seekable", None)
    if check is None:
        return callable(getattr(file, "seek", None))
    try:
        return bool(check())
    except (ValueError, OSError):
        return False


def _is_text(obj: object) -> bool:
    """A file opened in text mode (typed callers cannot pass one; untyped ones can)."""
    return isinstance(obj, io.TextIOBase)


async def open_source(obj: SourceLike, *, size: int | None = None) -> Source:
    """Wrap what the caller passed as a :class:`Source`.

    Args:
        obj: a path, bytes-like, a sync binary file (seekable or not, e.g. stdin), or an
            async iterable of bytes.
        size: the size of a stream, if known; checked against what it yields.
    """
    if isinstance(obj, bytes | bytearray | memoryview):
        return BytesSource(obj)
    if isinstance(obj, str | os.PathLike):
        path = await asyncio.to_thread(Path(os.fspath(obj)).absolute)
        file = await asyncio.to_thread(path.open, "rb")
        return await FileSource.open(file, close=True, path=path)
    if isinstance(obj, AsyncIterable):
        return StreamSource(obj, size=size)
    if _is_text(obj):
        raise TypeError(
            f"cannot upload from a text-mode file ({getattr(obj, 'name', type(obj).__name__)})"
            ": open it in binary mode ('rb')"
        )
    if hasattr(obj, "read"):
        if _is_seekable(obj):
            return await FileSource.open(obj)
        return StreamSource(_file_pieces(obj), size=size)
    raise TypeError(f"cannot upload from {type(obj).__name__}")
