"""MemoryStore: every capability but downloads, in process memory (tests, demos).

Nothing survives a restart and every byte lives in RAM, so it is not for production. It is
also the reference a new store's author can read next to the contract suite.
"""

from collections.abc import AsyncIterable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tuskit_common import BadRequest, Gone, NotFound, OffsetMismatch, Resource
from tuskit_server._rules import ID_PATTERN, is_expired
from tuskit_server.errors import UploadExists
from tuskit_server.stores._append_path import AppendJob, AppendPath

__all__ = ["MemoryStore"]


class MemoryStore(AppendPath):
    """A dict of uploads and a dict of bytes; tombstones remember removed ids."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._info: dict[str, Resource] = {}
        self._data: dict[str, bytearray] = {}
        self._gone: dict[str, datetime] = {}

    async def open(self) -> None:
        """Nothing to prepare."""

    async def close(self) -> None:
        """Nothing to release (data is kept, so a test can reopen)."""

    def _check(self, upload_id: str) -> Resource:
        if not ID_PATTERN.fullmatch(upload_id):
            raise NotFound("no such upload")
        if upload_id in self._gone:
            raise Gone("the upload was terminated or has expired")
        try:
            resource = self._info[upload_id]
        except KeyError:
            raise NotFound("no such upload") from None
        return resource

    async def create(self, resource: Resource) -> Resource:
        """Record a new, empty upload."""
        if not ID_PATTERN.fullmatch(resource.id):
            raise NotFound("no such upload")
        if resource.id in self._info or resource.id in self._gone:
            raise UploadExists(f"upload id {resource.id} already exists")
        resource = resource.model_copy(update={"offset": 0})
        self._info[resource.id] = resource
        self._data[resource.id] = bytearray()
        return resource

    async def get(self, upload_id: str) -> Resource:
        """The upload as stored."""
        return self._check(upload_id)

    async def _append(self, body: AsyncIterable[bytes], job: AppendJob) -> Resource:
        """Append ``body`` at ``offset``; with ``accept``, keep it only if accepted."""
        upload_id, offset, accept, expires_at = (
            job.upload_id,
            job.offset,
            job.accept,
            job.expires_at,
        )
        resource = self._check(upload_id)
        if resource.offset != offset:
            raise OffsetMismatch("offset mismatch", offset=resource.offset)
        data = self._data[upload_id]
        keep = accept is None
        try:
            async for piece in body:
                data += piece
            if accept is not None:
                keep = accept()
        finally:
            if not keep:
                del data[offset:]
            self._record_write(upload_id, expires_at if keep else resource.expires_at)
        return self._info[upload_id]

    def _record_write(self, upload_id: str, expires_at: datetime | None) -> None:
        resource = self._info[upload_id]
        data = self._data[upload_id]
        if resource.length is not None and len(data) > resource.length:
            del data[resource.length :]
        update: dict[str, Any] = {"offset": len(data), "expires_at": expires_at}
        self._info[upload_id] = resource.model_copy(update=update)

    async def declare_length(self, upload_id: str, length: int) -> Resource:
        """Record a deferred length."""
        resource = self._check(upload_id).model_copy(update={"length": length})
        self._info[upload_id] = resource
        return resource

    async def terminate(self, upload_id: str) -> None:
        """Forget the upload, keep a tombstone."""
        self._remove(upload_id)

    async def expire(self, upload_id: str) -> None:
        """Forget an expired upload, keep a tombstone."""
        self._remove(upload_id)

    def _remove(self, upload_id: str) -> None:
        self._check(upload_id)
        del self._info[upload_id]
        del self._data[upload_id]
        self._gone[upload_id] = self._clock()

    async def expired(self, now: datetime) -> list[str]:
        """Unfinished uploads past their expiry."""
        return [k for k, v in self._info.items() if is_expired(v, now)]

    async def forget(self, before: datetime) -> int:
        """Drop old tombstones."""
        old = [k for k, at in self._gone.items() if at < before]
        for key in old:
            del self._gone[key]
        return len(old)

    async def concatenate(self, final_id: str, partial_ids: Sequence[str]) -> Resource:
        """Join the partials' bytes into the final upload."""
        final = self._check(final_id)
        joined = bytearray()
        for partial_id in partial_ids:
            partial = self._check(partial_id)
            if not partial.is_complete:
                raise BadRequest(f"partial upload {partial_id} is not finished")
            joined += self._data[partial_id]
        self._data[final_id] = joined
        final = final.model_copy(
            update={"length": len(joined), "offset": len(joined), "expires_at": None}
        )
        self._info[final_id] = final
        return final

    async def pending_finals(self) -> list[Resource]:
        """Final uploads still waiting for partials."""
        return [r for r in self._info.values() if r.is_final and not r.is_complete]

    def read(self, upload_id: str) -> bytes:
        """The bytes stored so far (for tests)."""
        self._check(upload_id)
        return bytes(self._data[upload_id])
