"""The async driver: runs the ``_flow`` generators over ``_http`` and a ``_sources`` source.

The flow decides; :meth:`Engine.run` carries out each command it yields - sends a head with
its body (a file range the kernel copies, the source streamed, or bytes in memory), reads the
source (in a worker thread), sleeps, has a URL stored - and sends the answer back, or throws
the failure in. Sleeping, the clock and the jitter source are injected so tests run without
real delays.
"""

import asyncio
import random as _random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from yarl import URL

from tuskit_client._commands import (
    Answer,
    Body,
    Command,
    Flow,
    Forget,
    Memory,
    Read,
    Remember,
    Send,
    Sleep,
    Split,
    Turns,
)
from tuskit_client._draft_fields import LATEST
from tuskit_client._flow import UploadFlow
from tuskit_client._http import Body as HttpBody
from tuskit_client._http import Http
from tuskit_client._progress import Progress
from tuskit_client._results import UploadResult
from tuskit_client._sendfile import AVAILABLE as SENDFILE
from tuskit_client._sendfile import FileRangePayload
from tuskit_client._sources import PIECE, Source
from tuskit_client._steps import Created, UploadStatus
from tuskit_client._types import RetryConfiguration
from tuskit_client._wire import Choice
from tuskit_client.exceptions import TusClientError
from tuskit_common import ServerCapabilities

T = TypeVar("T")
Sleeper = Callable[[float], Awaitable[None]]
OnRemember = Callable[[Remember], Awaitable[None]]
OnForget = Callable[[], Awaitable[None]]
OnSplit = Callable[[], Awaitable[UploadResult]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Engine:
    """Runs flows for every upload of one client: one :class:`Http`, one
    :class:`UploadFlow` (retry settings, headers, chunk size)."""

    def __init__(
        self,
        http: Http,
        config: RetryConfiguration,
        *,
        headers: Mapping[str, str] | None = None,
        chunk_size: int | None,
        sleep: Sleeper | None = None,
        now: Callable[[], datetime] | None = None,
        random: Callable[[], float] | None = None,
        protocol: Choice = Choice.TUS,
        draft_version: int = LATEST,
    ) -> None:
        self.http = http
        self.config = config
        self.chunk_size = chunk_size
        self.sleep: Sleeper = asyncio.sleep if sleep is None else sleep
        self.now = _utcnow if now is None else now
        self.flow = UploadFlow(
            config,
            headers=headers,
            chunk_size=chunk_size,
            now=self.now,
            random=_random.random if random is None else random,
            protocol=protocol,
            draft_version=draft_version,
        )
        self.headers = self.flow.headers

    async def run(
        self,
        flow: Flow[T],
        source: Source | None = None,
        *,
        remember: OnRemember | None = None,
        forget: OnForget | None = None,
        split: OnSplit | None = None,
    ) -> T:
        """Drive ``flow`` to its result; a failure it does not handle comes out as raised."""
        turns = Turns(flow)
        for command in turns:
            try:
                turns.answer(await self._carry_out(command, source, remember, forget, split))
            except TusClientError as exc:
                turns.fail(exc)
        return turns.result

    async def _carry_out(
        self,
        command: Command,
        source: Source | None,
        remember: OnRemember | None,
        forget: OnForget | None,
        split: OnSplit | None,
    ) -> Answer:
        if isinstance(command, Send):
            body = self._body(command.body, source)
            return await self.http.send(command.head, body, expect100=command.expect100)
        if isinstance(command, Read):
            assert source is not None
            read = source.read_exact if command.exact else source.read
            return await read(command.position, command.size)
        if isinstance(command, Sleep):
            await self.sleep(command.seconds)
        elif isinstance(command, Remember):
            if remember is not None:
                await remember(command)
        elif isinstance(command, Forget):
            if forget is not None:
                await forget()
        elif isinstance(command, Split):
            assert split is not None
            return await split()
        return None

    # -- bodies ---------------------------------------------------------------------------

    def _body(self, body: Body | None, source: Source | None) -> HttpBody:
        if body is None:
            return None
        if isinstance(body, Memory):
            return self._pieces(body.data, body.offset, body.progress, body.part)
        assert source is not None
        return self._range_body(source, body.start, body.end, body.offset, body.progress, body.part)

    async def _pieces(
        self, data: bytes, offset: int, progress: Progress | None, part: int
    ) -> AsyncIterator[bytes]:
        view = memoryview(data)
        for index in range(0, len(view), PIECE):
            piece = view[index : index + PIECE]  # a view: no copy of the chunk's bytes
            yield piece  # type: ignore[misc]  # aiohttp writes any bytes-like object
            if progress is not None:
                progress.sent(part, offset + index + len(piece))

    async def _counted(
        self, pieces: AsyncIterator[bytes], offset: int, progress: Progress | None, part: int
    ) -> AsyncIterator[bytes]:
        position = offset
        async for piece in pieces:
            yield piece
            position += len(piece)
            if progress is not None:
                progress.sent(part, position)

    def _range_body(
        self,
        source: Source,
        start: int,
        end: int,
        offset: int,
        progress: Progress | None,
        part: int,
    ) -> HttpBody:
        """Bytes ``[start, end)`` of ``source`` as a body (``offset`` is where they go in the
        upload): a range the kernel sends from a real file, else pieces streamed from the
        source."""
        fd = source.file_descriptor() if SENDFILE else None
        if fd is None:
            return self._counted(source.stream(start, end), offset, progress, part)

        def on_sent(sent: int) -> None:
            if progress is not None:
                progress.sent(part, offset + sent)

        return FileRangePayload(
            fd, start, end - start, on_sent=on_sent, fallback=lambda: source.stream(start, end)
        )

    # -- single steps, for the callers that need one ---------------------------------------

    async def options(self, url: URL) -> ServerCapabilities:
        """OPTIONS discovery: versions, extensions, max size, checksum algorithms."""
        return await self.run(self.flow.options(url))

    async def status(self, location: URL) -> UploadStatus:
        """HEAD: the server's offset, length, expiry and metadata for an upload."""
        return await self.run(self.flow.status(location))

    async def delete(self, location: URL) -> None:
        """DELETE: terminate an upload."""
        await self.run(self.flow.delete(location))

    async def create(
        self,
        endpoint: URL,
        *,
        length: int | None,
        metadata_header: str | None = None,
        concat: str | None = None,
    ) -> Created:
        """POST without data: create an upload."""
        flow = self.flow.create(
            endpoint, length=length, metadata_header=metadata_header, concat=concat
        )
        return await self.run(flow)
