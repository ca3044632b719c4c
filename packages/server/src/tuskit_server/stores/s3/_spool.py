"""A checksummed chunk held aside until its digest is known, so that a mismatching chunk
never becomes a committed part: up to :data:`IN_MEMORY` bytes in memory, the rest in an
anonymous temporary file written and read in a worker thread (never on the event loop)."""

import asyncio
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from typing import IO

__all__ = ["IN_MEMORY", "Spool"]

#: Bytes of a chunk kept in memory before it moves to a temporary file.
IN_MEMORY = 1024 * 1024
_PIECE = 1024 * 1024


class Spool:
    """A chunk read to its end, replayed as an async iterable once it was accepted."""

    def __init__(self) -> None:
        self._memory: list[bytes] = []
        self._size = 0
        self._file: IO[bytes] | None = None

    async def fill(self, body: AsyncIterable[bytes]) -> None:
        """Read all of ``body`` (raises what ``body`` raises)."""
        async for piece in body:
            self._memory.append(piece)
            self._size += len(piece)
            if self._size >= IN_MEMORY:
                await asyncio.to_thread(self._spill)

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="tuskit-chunk-")  # noqa: SIM115 (close())
        self._file.writelines(self._memory)
        self._memory.clear()
        self._size = 0

    async def replay(self) -> AsyncIterator[bytes]:
        """The chunk's bytes, in order."""
        spooled = self._file
        if spooled is not None:
            await asyncio.to_thread(spooled.seek, 0)
            while piece := await asyncio.to_thread(spooled.read, _PIECE):
                yield piece
        for piece in self._memory:
            yield piece

    async def close(self) -> None:
        """Drop the temporary file."""
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None
