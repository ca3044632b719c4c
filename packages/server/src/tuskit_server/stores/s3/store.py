"""S3Store: uploads in an S3-compatible bucket, laid out as tusd's s3store lays them.

This module is the store users name and its per-upload lifecycle; its other jobs live
beside it: :mod:`._layout` (keys, part sizes), :mod:`._bucket` (the S3 calls and their
errors), :mod:`._infos` (info objects, the offset from S3), :mod:`._parts` (bodies into
parts), :mod:`._spool` (checksummed chunks), :mod:`._concat` (UploadPartCopy),
:mod:`._finals` (finals waiting for partials) and :mod:`._removal` (termination, expiry,
tombstones). Everything that decides a request's
answer is read from the bucket, so several servers sharing it are interchangeable.
"""

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime

from tuskit_common import BadRequest, OffsetMismatch, Resource
from tuskit_server.errors import UploadExists
from tuskit_server.stores._append_path import AppendJob, AppendPath
from tuskit_server.stores.s3._bucket import Bucket
from tuskit_server.stores.s3._concat import Source, concatenate
from tuskit_server.stores.s3._connection import Connection
from tuskit_server.stores.s3._infos import MULTIPART, MultipartStarter
from tuskit_server.stores.s3._layout import MAX_PART, MAX_UPLOAD, MIN_PART
from tuskit_server.stores.s3._parts import Held, Sizing, append, nothing
from tuskit_server.stores.s3._removal import Removal
from tuskit_server.stores.s3._spool import Spool

__all__ = ["S3Store"]

#: The largest upload whose length is deferred that S3Store sizes parts for by default.
DEFERRED_MAX = 64 * 1024**3


class S3Store(AppendPath, Removal):
    """The S3 store (extra ``tuskit-server[s3]``).

    Args:
        bucket: an existing bucket; ``prefix`` is put before every key (``"uploads/"``).
        endpoint_url: an S3-compatible service (MinIO, Ceph, R2, moto); None: AWS.
        region: the bucket's region; None: from the AWS configuration.
        part_size: the smallest part (at least S3's 5 MiB); parts grow beyond it so that
            an upload fits in S3's 10,000 parts.
        max_size: the largest upload with a deferred length, for sizing its parts.
        access_key / secret_key: explicit credentials; None: the standard AWS chain.
        attempts: botocore's attempts per S3 call (standard retry mode) before the request
            fails with 503.
        clock: the time source for tombstones (tests inject one).
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        part_size: int = MIN_PART,
        max_size: int = DEFERRED_MAX,
        access_key: str | None = None,
        secret_key: str | None = None,
        attempts: int = 3,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not MIN_PART <= part_size <= MAX_PART:
            raise ValueError(
                f"part_size must be between {MIN_PART} and {MAX_PART} bytes (S3's part sizes)"
            )
        if not 0 < max_size <= MAX_UPLOAD:
            raise ValueError(f"max_size must be between 1 and {MAX_UPLOAD} bytes")
        super().__init__(prefix, clock)
        self.connection = Connection(
            bucket, endpoint_url, region, access_key, secret_key, attempts=attempts
        )
        self._part_size = part_size
        self._max_size = max_size
        self._stack: AsyncExitStack | None = None

    def __repr__(self) -> str:
        return f"S3Store({self.connection.where()!r}, prefix={self.prefix!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and check the bucket is reachable (raises S3StoreError, one line)."""
        if self._bucket is not None:
            return
        stack = AsyncExitStack()
        try:
            client = await self.connection.open(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._bucket = Bucket(client, self.connection.bucket)

    async def close(self) -> None:
        """Close the client."""
        stack, self._stack, self._bucket = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    # -- DataStore ---------------------------------------------------------------------------

    async def create(self, resource: Resource) -> Resource:
        """Claim ``<id>.info`` (If-None-Match); a zero-length upload gets its empty object.
        The multipart upload is started with the first part (small uploads need none)."""
        self.forget_read()
        keys = self.keys(resource.id)
        if await self.bucket.head(keys.gone) is not None:
            raise UploadExists(f"upload id {resource.id} was used before")
        empty = resource.length == 0
        storage = {**resource.storage, **self.storage(keys, None)}
        resource = resource.model_copy(update={"offset": 0, "storage": storage})
        if not await self.bucket.put_new(keys.info, self.encode(resource)):
            raise UploadExists(f"upload id {resource.id} already exists")
        if empty:
            await self.bucket.put(keys.data, b"")
        if resource.is_final:
            await self._mark_waiting(resource)
        return resource

    async def get(self, upload_id: str) -> Resource:
        """The upload, its offset from what S3 holds (kept for this request's append)."""
        found = await self.state(upload_id)
        self.remember(upload_id, found)
        return found[0]

    async def _append(self, body: AsyncIterable[bytes], job: AppendJob) -> Resource:
        """Stream ``body`` into parts; a checksummed chunk is read aside first and only
        appended once accepted (a rejected one never reaches S3)."""
        resource, held = await self.state_for_append(job.upload_id)
        if resource.offset != job.offset:
            raise OffsetMismatch(
                f"offset {job.offset} does not match {resource.offset}", offset=resource.offset
            )
        if job.accept is None:
            return await self._append_held(resource, held, body, job.expires_at)
        spool = Spool()
        try:
            await spool.fill(body)
            if not job.accept():
                return resource
            return await self._append_held(resource, held, spool.replay(), job.expires_at)
        finally:
            await spool.close()

    async def _append_held(
        self,
        resource: Resource,
        held: Held | None,
        body: AsyncIterable[bytes],
        expires_at: datetime | None,
    ) -> Resource:
        if held is None:  # finished (or a final upload): nothing more is taken
            return resource
        target = resource.length if resource.length is not None else self._max_size
        sizing = Sizing(self._part_size, target)
        starter = MultipartStarter(self, resource)
        keys = self.keys(resource.id)
        try:
            after = await append(
                self.bucket, keys, held, body, length=resource.length, sizing=sizing, start=starter
            )
        except BaseException:
            # an expiry moved by this chunk is recorded even when the body failed
            if expires_at != resource.expires_at:
                moved = starter.resource.model_copy(update={"expires_at": expires_at})
                await asyncio.shield(self.write_info(moved))
            raise
        updated = starter.resource.model_copy(update={"offset": after, "expires_at": expires_at})
        if updated.is_complete or expires_at != resource.expires_at:
            await self.write_info(updated)
        return updated

    # -- capabilities ------------------------------------------------------------------------

    async def declare_length(self, upload_id: str, length: int) -> Resource:
        """Record a deferred length; an upload that already holds it is finished now."""
        self.forget_read()
        resource, held = await self.state(upload_id)
        resource = resource.model_copy(update={"length": length})
        await self.write_info(resource.model_copy(update={"offset": 0}))
        if held is not None and held.offset >= length:
            return await self._append_held(resource, held, nothing(), resource.expires_at)
        return resource

    async def concatenate(self, final_id: str, partial_ids: Sequence[str]) -> Resource:
        """Build the final object from the partials' objects (UploadPartCopy)."""
        self.forget_read()
        final, _ = await self.state(final_id)
        if final.is_complete:
            return final
        upload = final.storage.get(MULTIPART)
        if not isinstance(upload, str):
            starter = MultipartStarter(self, final)
            upload = await starter()
            final = starter.resource
        sources = []
        for partial_id in partial_ids:
            partial, _ = await self.state(partial_id)
            if not partial.is_complete:
                raise BadRequest(f"partial upload {partial_id} is not finished")
            sources.append(Source(self.keys(partial_id).data, partial.offset))
        total = await concatenate(self.bucket, self.keys(final_id).data, upload, sources)
        final = final.model_copy(update={"length": total, "offset": total, "expires_at": None})
        await self.write_info(final)
        await self._unmark_waiting(final)
        return final

    async def pending_finals(self) -> list[Resource]:
        """Final uploads not built yet, read from the bucket (every instance sees them)."""
        found = [r for r in await self.scan() if r.is_final and not r.is_complete]
        return sorted(found, key=lambda r: r.id)

    def stream_range(self, upload_id: str, first: int, last: int) -> AsyncIterator[bytes]:
        """Bytes ``first..last`` (inclusive) of a finished upload's object."""
        return self.bucket.stream(self.keys(upload_id).data, first, last)
