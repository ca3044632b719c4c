"""BodyReader: bounded pieces, transport failures hidden from the store, stop requests."""

import asyncio
from unittest import mock

import pytest
from aiohttp import StreamReader
from aiohttp.http_exceptions import ContentLengthError

from tuskit_common import BadRequest, ServerError, TooLarge
from tuskit_server._body import BodyReader
from tuskit_server.errors import UploadInterrupted


def stream(*pieces: bytes, eof: bool = True) -> StreamReader:
    protocol = mock.Mock(_reading_paused=False)
    reader = StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    for piece in pieces:
        reader.feed_data(piece)
    if eof:
        reader.feed_eof()
    return reader


async def collect(reader: BodyReader) -> bytes:
    return b"".join([piece async for piece in reader])


async def test_reads_in_bounded_pieces() -> None:
    reader = BodyReader(stream(b"x" * 100), limit=None, read_size=30, idle_timeout=1)
    pieces = [piece async for piece in reader]
    assert max(len(p) for p in pieces) <= 30
    assert b"".join(pieces) == b"x" * 100
    assert reader.complete


async def test_limit_and_overflow() -> None:
    reader = BodyReader(stream(b"abcdef"), limit=4, read_size=30, idle_timeout=1)
    assert await collect(reader) == b"abcd"
    assert isinstance(reader.error, TooLarge)
    exact = BodyReader(stream(b"abcd"), limit=4, read_size=30, idle_timeout=1)
    assert await collect(exact) == b"abcd"
    assert exact.complete


async def test_short_body_is_400_and_keeps_buffered_bytes() -> None:
    content = stream(b"abc", eof=False)
    content.set_exception(ContentLengthError("Not enough data to satisfy content length header."))
    reader = BodyReader(content, limit=10, read_size=30, idle_timeout=1)
    assert await collect(reader) == b"abc"  # salvaged from aiohttp's buffer
    assert isinstance(reader.error, BadRequest)
    assert reader.error.code == "body_incomplete"


async def test_reset_is_500() -> None:
    content = stream(eof=False)
    content.set_exception(ConnectionResetError("Connection lost"))
    reader = BodyReader(content, limit=None, read_size=30, idle_timeout=1)
    assert await collect(reader) == b""
    assert isinstance(reader.error, ServerError)
    assert reader.error.code == "connection_reset"


async def test_idle_timeout_is_500() -> None:
    reader = BodyReader(stream(b"ab", eof=False), limit=None, read_size=30, idle_timeout=0.05)
    assert await collect(reader) == b"ab"
    assert isinstance(reader.error, ServerError)
    assert reader.error.code == "read_timeout"


async def test_stop_ends_a_waiting_read() -> None:
    reader = BodyReader(stream(b"ab", eof=False), limit=None, read_size=30, idle_timeout=10)
    task = asyncio.create_task(collect(reader))
    await asyncio.sleep(0.05)
    reader.stop(UploadInterrupted("newer request"))
    assert await asyncio.wait_for(task, 1) == b"ab"
    assert isinstance(reader.error, UploadInterrupted)
    assert not reader.complete


@pytest.mark.parametrize("algorithm", ["sha1", "crc32"])
async def test_hashes_what_it_hands_out(algorithm: str) -> None:
    from tuskit_common import new_hasher

    hasher = new_hasher(algorithm)
    reader = BodyReader(stream(b"hello"), limit=None, read_size=2, idle_timeout=1, hasher=hasher)
    await collect(reader)
    expected = new_hasher(algorithm)
    expected.update(b"hello")
    assert hasher.digest() == expected.digest()
