"""Streaming a PATCH body into the parts of an upload's multipart upload, with bounded memory.

What S3 holds is the upload's state (no counter kept elsewhere): the committed parts, plus
the ``.part`` tail object when it still counts. A tail records in its metadata the part
number it will become (:data:`NEXT_PART`); once that part exists, the tail was folded into
it, even if a crash came before the tail was deleted, so the offset never counts bytes
twice. A part is held in memory while it fills (at most one part filling and one being
uploaded: about two parts per PATCH, and a third while a part is joined from its pieces),
see the README's measurement.
"""

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from tuskit_common import TooLarge
from tuskit_server.stores.s3._bucket import Bucket, Part, Stored
from tuskit_server.stores.s3._layout import MIN_PART, Keys, next_part_size

__all__ = ["NEXT_PART", "Held", "Sizing", "append", "held_of", "nothing"]

#: The tail object's metadata key: the part number the tail becomes when it is folded in.
NEXT_PART = "tus-next-part"


@dataclass(frozen=True, slots=True)
class Held:
    """What S3 holds of an unfinished upload: its multipart upload (None until its first
    part: an upload finished in one small body never needs one), the committed parts and
    the size of a tail that still counts (0: none)."""

    upload: str | None
    parts: tuple[Part, ...] = ()
    tail: int = 0

    @property
    def offset(self) -> int:
        return sum(p.size for p in self.parts) + self.tail


@dataclass(frozen=True, slots=True)
class Sizing:
    """How big parts are: ``base`` at least, more when ``target`` bytes would not fit."""

    base: int
    target: int

    def next(self, held_offset: int, parts: int) -> int:
        try:
            return next_part_size(
                base=self.base, target=self.target, offset=held_offset, parts=parts
            )
        except ValueError as exc:
            raise TooLarge(str(exc)) from None


def held_of(upload: str | None, parts: list[Part], tail: Stored | None) -> Held:
    """The state from a ListParts answer and the tail's HEAD (None: no tail object)."""
    if tail is None:
        return Held(upload, tuple(parts))
    try:
        counts = int(tail.meta.get(NEXT_PART, "0")) > len(parts)
    except ValueError:
        counts = False
    return Held(upload, tuple(parts), tail.size if counts else 0)


class Pieces:
    """Bytes waiting to become a part, kept as the pieces they arrived in: a part is joined
    once, in one copy (a piece across its end is split), so a part costs its own size
    and never the several copies a growing buffer makes."""

    __slots__ = ("_pieces", "size")

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self.size = 0

    def add(self, piece: bytes) -> None:
        if piece:
            self._pieces.append(piece)
            self.size += len(piece)

    def take(self, count: int) -> bytes:
        """The first ``count`` bytes (at most :attr:`size`), joined."""
        taken: list[bytes] = []
        need = count
        while need and self._pieces:
            piece = self._pieces.pop(0)
            if len(piece) > need:
                self._pieces.insert(0, piece[need:])
                piece = piece[:need]
            taken.append(piece)
            need -= len(piece)
        self.size -= count - need
        return b"".join(taken)


@dataclass(slots=True)
class _Filling:
    """One append in progress: the parts so far, the bytes not in a part yet, and the one
    part upload in flight."""

    bucket: Bucket
    keys: Keys
    held: Held
    sizing: Sizing
    start: Callable[[], Awaitable[str]]
    parts: list[Part] = field(default_factory=list)
    buffer: Pieces = field(default_factory=Pieces)
    flight: "asyncio.Task[Part] | None" = None
    failed: bool = False

    @property
    def committed(self) -> int:
        return sum(p.size for p in self.parts)

    async def land(self) -> None:
        """Wait for the part in flight; after a failure no further part is uploaded (a
        gap would follow)."""
        flight, self.flight = self.flight, None
        if flight is None:
            return
        try:
            self.parts.append(await flight)
        except BaseException:
            self.failed = True
            raise

    async def upload(self) -> str:
        """The multipart upload, started (and recorded by ``start``) on the first part."""
        if self.held.upload is None:
            self.held = replace(self.held, upload=await self.start())
        assert self.held.upload is not None
        return self.held.upload

    async def send(self, data: bytes) -> None:
        """Upload ``data`` as the next part, in the background once the previous landed.
        ``data`` has left the buffer: if it cannot be sent, nothing after it may be kept."""
        try:
            await self.land()
            upload = await self.upload()
        except BaseException:
            self.failed = True
            raise
        number = len(self.parts) + 1
        self.flight = asyncio.ensure_future(
            self.bucket.upload_part(self.keys.data, upload, number, data)
        )

    async def send_now(self, data: bytes) -> None:
        """Upload ``data`` as the next part and wait for it."""
        await self.send(data)
        await self.land()

    async def settle(self, complete: bool, had_tail: bool) -> int:
        """After the body: land the part in flight, then keep the rest as a part (the last
        one, or one big enough), or as the tail; complete the object when all bytes are in.
        """
        if self.flight is not None:
            await asyncio.wait([self.flight])
            await self.land()
        rest = self.buffer.take(self.buffer.size)
        keys = self.keys
        if complete and not self.parts:  # one object written whole, no multipart upload
            await self.bucket.put(keys.data, rest)
            if self.held.upload is not None:
                await self.bucket.abort(keys.data, self.held.upload)
        elif complete:
            if rest:
                await self.send_now(rest)
            await self.bucket.complete(keys.data, await self.upload(), self.parts)
        if complete:
            if had_tail:
                await self.bucket.delete(keys.part)
            return self.committed if self.parts else len(rest)
        if len(rest) >= MIN_PART:
            await self.send_now(rest)
            rest = b""
        if rest:
            meta = {NEXT_PART: str(len(self.parts) + 1)}
            await self.bucket.put(keys.part, rest, meta=meta)
        elif had_tail and len(self.parts) > len(self.held.parts):
            await self.bucket.delete(keys.part)
        return self.committed + len(rest)


async def append(
    bucket: Bucket,
    keys: Keys,
    held: Held,
    body: AsyncIterable[bytes],
    *,
    length: int | None,
    sizing: Sizing,
    start: Callable[[], Awaitable[str]],
) -> int:
    """Append ``body`` after what ``held`` says S3 holds; returns the offset S3 holds after.
    ``start`` starts the multipart upload and records it, when the first part needs it.

    Bytes past ``length`` are dropped. What arrived is kept even when ``body`` fails or the
    request is cancelled (the settling is shielded); a part S3 refused ends the append
    without keeping anything after it, and raises (503).
    """
    filling = _Filling(bucket, keys, held, sizing, start, parts=list(held.parts))
    had_tail = held.tail > 0
    if had_tail:
        tail = await bucket.read(keys.part)
        if tail is None or len(tail) != held.tail:
            had_tail = False
            held = Held(held.upload, held.parts, 0)
            filling.held = held
        else:
            filling.buffer.add(tail)
    room = None if length is None else length - held.offset
    received = 0
    sent, count = held.offset - held.tail, len(held.parts)
    try:
        size = sizing.next(sent, count)
        async for piece in body:
            if room is not None and received + len(piece) > room:
                piece = piece[: room - received]
            received += len(piece)
            filling.buffer.add(piece)
            while filling.buffer.size >= size:
                await filling.send(filling.buffer.take(size))
                sent, count = sent + size, count + 1
                size = sizing.next(sent, count)
            if room is not None and received >= room:
                break
    except BaseException:
        if not filling.failed:
            await asyncio.shield(filling.settle(False, had_tail))
        raise
    complete = room is not None and received >= room
    return await asyncio.shield(filling.settle(complete, had_tail))


async def nothing() -> AsyncIterator[bytes]:
    """An empty body (to settle an upload without new bytes)."""
    empty: tuple[bytes, ...] = ()
    for piece in empty:
        yield piece
