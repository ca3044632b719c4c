"""Every file-like shape callers pass to the aiotus-shaped calls: sized when it can seek (as
aiotus does), streamed when it cannot, refused in text mode, and an early end is an error,
never a silently short upload."""

import io
import os
from pathlib import Path

import aiohttp
import pytest
from fake_tus import ServerFactory

import tuskit_client
from tuskit_client import RetryConfiguration, SourceTruncated, core, creation

DATA = os.urandom(5_000)
FAST = RetryConfiguration(retry_attempts=2, base_delay_seconds=0, max_retry_period_seconds=0)


class ReadSeek:
    """Only ``read`` and ``seek``: no ``seekable()``, no ``tell()``."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)


class ReadOnly:
    """Only ``read``: a stream of unknown size."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)


class Emptied(ReadSeek):
    """Seeks like a 5000-byte file, then reads nothing: it shrank after it was sized."""

    def read(self, size: int = -1) -> bytes:
        return b""


async def _create_and_send(endpoint: object, file: object, chunksize: int = 2_000) -> None:
    async with aiohttp.ClientSession() as session:
        location = await creation.create(session, endpoint, file)  # type: ignore[arg-type]
        await core.upload_buffer(session, location, file, chunksize=chunksize)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [io.BytesIO, ReadSeek])
async def test_a_seekable_object_is_sized_and_sent_whole(
    tus_server: ServerFactory, shape: type[ReadSeek] | type[io.BytesIO]
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    await _create_and_send(endpoint, shape(DATA))
    assert fake.only().length == len(DATA)
    assert bytes(fake.only().data) == DATA


async def test_a_real_file_is_sized_and_sent_whole(
    tus_server: ServerFactory, tmp_path: Path
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    with path.open("rb") as file:
        await _create_and_send(endpoint, file)
    assert fake.only().length == len(DATA)
    assert bytes(fake.only().data) == DATA


async def test_a_read_only_stream_is_sent_with_a_deferred_length(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server()
    url = await tuskit_client.upload(endpoint, ReadOnly(DATA), config=FAST, chunksize=2_000)  # type: ignore[arg-type]
    assert url is not None
    assert fake.only().length == len(DATA)
    assert bytes(fake.only().data) == DATA


async def test_a_text_mode_file_is_refused_before_any_request(
    tus_server: ServerFactory, tmp_path: Path
) -> None:
    fake, endpoint = await tus_server()
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with path.open() as text:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(TypeError, match=r"text-mode file.*binary mode"):
                await creation.create(session, endpoint, text)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_an_object_that_ends_early_is_an_unexpected_eof(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    with pytest.raises(RuntimeError, match="Buffer returned unexpected EOF"):
        await _create_and_send(endpoint, Emptied(DATA))
    assert fake.only().data == b""
    assert fake.methods().count("PATCH") <= 1  # not retried: the source failed, not the net


async def test_a_file_that_shrank_on_disk_is_an_unexpected_eof(
    tus_server: ServerFactory, tmp_path: Path
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    with path.open("rb") as file:
        async with aiohttp.ClientSession() as session:
            location = await creation.create(session, endpoint, file)
            os.truncate(path, 1_000)
            with pytest.raises(SourceTruncated, match="unexpected EOF"):
                await core.upload_buffer(session, location, file, chunksize=None)  # type: ignore[arg-type]
    assert len(fake.only().data) < len(DATA)


async def test_upload_buffer_refuses_a_server_ahead_of_the_buffer(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    async with aiohttp.ClientSession() as session:
        location = await creation.create(session, endpoint, None)
        fake.only().data += DATA
        with pytest.raises(tuskit_client.ProtocolError, match="Server offset too big"):
            await core.upload_buffer(session, location, io.BytesIO(b"abcd"))


async def test_upload_buffer_lets_a_server_error_out_as_aiohttps(
    tus_server: ServerFactory,
) -> None:
    fake, endpoint = await tus_server(extensions=("creation",))
    fake.inject("PATCH", status=500)
    async with aiohttp.ClientSession() as session:
        location = await creation.create(session, endpoint, io.BytesIO(DATA))
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await core.upload_buffer(session, location, io.BytesIO(DATA))
    assert "Internal Server Error" in str(info.value)
