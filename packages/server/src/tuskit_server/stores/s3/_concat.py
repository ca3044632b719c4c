"""Concatenation on S3: the final object is built server-side from the partials' objects
with UploadPartCopy wherever a piece can be a part on its own (at least 5 MiB, at most
5 GiB per copy); shorter pieces are read and joined into parts of at least 5 MiB, so memory
stays within one minimum part whatever the partials' sizes."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from tuskit_server.stores.s3._bucket import Bucket, Part
from tuskit_server.stores.s3._layout import COPY_LIMIT, MIN_PART

__all__ = ["Source", "concatenate"]


@dataclass(frozen=True, slots=True)
class Source:
    """A finished partial upload's object and its size."""

    key: str
    size: int


@dataclass(slots=True)
class _Joining:
    bucket: Bucket
    key: str
    upload: str
    parts: list[Part] = field(default_factory=list)
    buffer: bytearray = field(default_factory=bytearray)

    async def flush(self) -> None:
        number = len(self.parts) + 1
        data = bytes(self.buffer)
        self.buffer.clear()
        self.parts.append(await self.bucket.upload_part(self.key, self.upload, number, data))

    async def take(self, source: Source, first: int, size: int) -> None:
        """Read ``size`` bytes of ``source`` from ``first`` into the buffer."""
        async for piece in self.bucket.stream(source.key, first, first + size - 1):
            self.buffer += piece

    async def copy(self, source: Source, first: int, size: int) -> None:
        number = len(self.parts) + 1
        last = first + size - 1
        part = await self.bucket.copy_part(self.key, self.upload, number, source.key, first, last)
        self.parts.append(part)


async def concatenate(bucket: Bucket, key: str, upload: str, sources: Sequence[Source]) -> int:
    """Fill the multipart upload ``upload`` of ``key`` with ``sources`` in order and complete
    it (an empty object when every source is empty); returns the object's size. Parts are
    numbered from 1 again on a retry, so a concatenation a crash cut is simply redone."""
    joining = _Joining(bucket, key, upload)
    for source in sources:
        at = 0
        while at < source.size:
            left = source.size - at
            if joining.buffer:
                if len(joining.buffer) >= MIN_PART:
                    await joining.flush()
                    continue
                size = min(left, MIN_PART - len(joining.buffer))
                await joining.take(source, at, size)
            elif left >= MIN_PART:
                size = min(left, COPY_LIMIT)
                await joining.copy(source, at, size)
            else:
                size = left
                await joining.take(source, at, size)
            at += size
    if joining.buffer:
        await joining.flush()
    if not joining.parts:
        await bucket.put(key, b"")
        await bucket.abort(key, upload)
        return 0
    await bucket.complete(key, upload, joining.parts)
    return sum(p.size for p in joining.parts)
