"""Sources: bounded reads, the one-chunk resend buffer, lookahead for the last chunk."""

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit_client import SourceError
from tuskit_client._sources import PIECE, BytesSource, FileSource, StreamSource, open_source


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for index in range(0, len(data), size):
        yield data[index : index + size]


class Pipe(io.RawIOBase):
    """A non-seekable sync binary file, like stdin."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


async def test_open_source_picks_the_right_kind(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    from_path = await open_source(path)
    assert isinstance(from_path, FileSource)
    assert (from_path.size, from_path.path) == (10, path.absolute())
    assert await from_path.read(3, 4) == (b"3456", False)
    assert await from_path.read(8, 4) == (b"89", True)
    await from_path.aclose()
    assert isinstance(await open_source(b"ab"), BytesSource)
    assert isinstance(await open_source(io.BytesIO(b"ab")), FileSource)
    assert isinstance(await open_source(pieces(b"ab", 1)), StreamSource)
    piped = await open_source(io.BufferedReader(Pipe(b"ab")))  # type: ignore[type-var]
    assert isinstance(piped, StreamSource)
    assert piped.size is None
    with pytest.raises(TypeError):
        await open_source(42)  # type: ignore[arg-type]


async def test_stream_marks_the_last_chunk_even_on_a_boundary() -> None:
    source = StreamSource(pieces(b"abcdef", 2))
    assert await source.read(0, 3) == (b"abc", False)
    assert await source.read(3, 3) == (b"def", True)
    assert source.size == 6


async def test_empty_stream_is_at_its_end_at_once() -> None:
    source = StreamSource(pieces(b"", 2))
    assert await source.read(0, 4) == (b"", True)
    assert source.size == 0


async def test_stream_resends_from_its_buffer_and_cannot_go_further_back() -> None:
    source = StreamSource(pieces(b"0123456789", 3))
    assert await source.read(0, 4) == (b"0123", False)
    assert await source.read(4, 4) == (b"4567", False)
    # The server kept two bytes of the last chunk: resend the rest from the buffer.
    assert await source.read(6, 4) == (b"67", False)
    assert await source.read(8, 4) == (b"89", True)
    with pytest.raises(SourceError, match="non-seekable"):
        await source.read(2, 4)


async def test_stream_skips_what_the_server_already_has() -> None:
    source = StreamSource(pieces(b"0123456789", 4))
    assert await source.read(7, 10) == (b"789", True)


async def test_stream_size_is_checked() -> None:
    source = StreamSource(pieces(b"abc", 2), size=5)
    with pytest.raises(SourceError, match="size was given as 5"):
        await source.read(0, 10)
    longer = StreamSource(pieces(b"abcdef", 2), size=4)
    assert await longer.read(0, 2) == (b"ab", False)
    with pytest.raises(SourceError, match="longer than the 4 bytes"):
        await longer.read(2, 2)
    exact = StreamSource(pieces(b"abcd", 3), size=4)
    assert await exact.read(0, 4) == (b"abcd", True)


async def test_stream_rejects_non_bytes() -> None:
    async def words() -> AsyncIterator[bytes]:
        yield "text"  # type: ignore[misc]

    with pytest.raises(SourceError, match="str"):
        await StreamSource(words()).read(0, 4)


async def test_stream_yields_seekable_ranges() -> None:
    source = BytesSource(b"x" * (3 * PIECE))
    got = [len(p) async for p in source.stream(10, 2 * PIECE + 100)]
    assert sum(got) == 2 * PIECE + 90
    assert len(got) == 3
    assert max(got) <= PIECE
