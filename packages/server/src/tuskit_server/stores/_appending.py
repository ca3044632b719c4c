"""Appending a body to a :class:`~tuskit_server.stores.file.FileStore` upload, read in Python
(:meth:`Appending.write`) or poured by the kernel (:meth:`Appending.pour_target`).

Bodies read in Python are written in bounded batches (one thread hop per :data:`BATCH`
bytes, the pieces handed to the file as they are, never joined), so memory stays flat
whatever the chunk size, and a body smaller than a batch costs one hop to the file thread
in all. A write rewrites the info file only when more than the offset changed (the expiry
moves by whole seconds).
"""

import asyncio
import os
from collections.abc import AsyncIterable
from datetime import datetime

from tuskit_common import OffsetMismatch, Resource
from tuskit_server.stores._append_path import AppendJob, AppendPath
from tuskit_server.stores._file_thread import FILE_THREAD
from tuskit_server.stores._files import APPEND, WRITE, write_all
from tuskit_server.stores._info_files import CHUNK_MARKER, InfoFiles

__all__ = ["BATCH", "Appending", "DataFileTarget"]

BATCH = 1024 * 1024


class Appending(AppendPath, InfoFiles):
    """Mixin: the :class:`AppendPath` (``write``, ``write_staged``) and
    :class:`~tuskit_server.stores.base.PourReceiver` over the upload files; a staged chunk
    is written behind a marker and truncated back to ``offset`` unless accepted."""

    async def _append(self, body: AsyncIterable[bytes], job: AppendJob) -> Resource:
        """Write ``body`` in batches of about :data:`BATCH` bytes, one thread hop each.

        The data file is opened (and a checksummed chunk's marker recorded) only once a
        first full batch has arrived; a body that ends before that, which is every small
        upload, is written, closed and recorded in a single thread hop after it was read,
        and a rejected one never touches the data file. Opening and batch writes are never
        abandoned half-way: a cancelled request waits for them before the rest is settled
        (the file is closed, no bytes are written twice), and after a failed write nothing
        more is appended (no gap).
        """
        upload_id, offset, accept, expires_at = (
            job.upload_id,
            job.offset,
            job.accept,
            job.expires_at,
        )
        opening: asyncio.Future[tuple[Resource, int]] | None = None
        pending: list[bytes] = []
        writing: asyncio.Future[int] | None = None
        keep = accept is None
        try:
            size = 0
            async for piece in body:
                pending.append(piece)
                size += len(piece)
                if size >= BATCH:
                    if opening is None:
                        staged = accept is not None
                        opening = asyncio.ensure_future(
                            FILE_THREAD.run(self._open_at, upload_id, offset, staged)
                        )
                    opened = await asyncio.shield(opening)
                    writing = asyncio.ensure_future(
                        asyncio.to_thread(write_all, opened[1], pending.copy())
                    )
                    pending.clear()
                    size = 0
                    await asyncio.shield(writing)
            if accept is not None:
                keep = accept()
        finally:
            updated = await asyncio.shield(
                self._finish_after_batches(
                    upload_id, offset, opening, writing, pending, keep, expires_at
                )
            )
        return updated

    def pour_target(
        self, upload_id: str, offset: int, *, expires_at: datetime | None
    ) -> "DataFileTarget":
        """The upload's data file, for a body poured at ``offset``."""
        return DataFileTarget(self, upload_id, offset, expires_at)

    async def _finish_after_batches(
        self,
        upload_id: str,
        offset: int,
        opening: asyncio.Future[tuple[Resource, int]] | None,
        writing: asyncio.Future[int] | None,
        pending: list[bytes],
        keep: bool,
        expires_at: datetime | None,
    ) -> Resource:
        """Wait for the opening and a batch still in flight (a new piece is only read once
        the last batch is written, so after a failed one ``pending`` is empty), then
        :meth:`_finish_write` in one thread hop. A failed opening is raised again there."""
        opened = None
        if opening is not None:
            await asyncio.wait([opening])
            if opening.exception() is None:
                opened = opening.result()
        if writing is not None:
            await asyncio.wait([writing])
        return await FILE_THREAD.run(
            self._finish_write, upload_id, offset, opened, pending, keep, expires_at
        )

    @staticmethod
    def _check_offset(resource: Resource, offset: int) -> None:
        if resource.offset != offset:
            raise OffsetMismatch(
                f"offset {offset} does not match {resource.offset}", offset=resource.offset
            )

    def _open_at(
        self, upload_id: str, offset: int, mark: bool, flags: int = APPEND
    ) -> tuple[Resource, int]:
        """Repair, check the offset, record a chunk marker if asked, and open the data file
        (for appending by default); returns the upload as its info file now holds it, and
        the file."""
        resource = self._repair(upload_id)
        self._check_offset(resource, offset)
        if mark:
            resource = resource.model_copy(
                update={"storage": {**resource.storage, CHUNK_MARKER: offset}}
            )
            self._write_info(resource)
        return resource, os.open(self._data(upload_id), flags)

    def _finish_write(
        self,
        upload_id: str,
        offset: int,
        opened: tuple[Resource, int] | None,
        pending: list[bytes],
        keep: bool,
        expires_at: datetime | None,
    ) -> Resource:
        """Write the last batch (or drop the chunk if not kept), close the data file and
        record the result; a body that never filled a batch is only written here."""
        if opened is None:
            resource = self._repair(upload_id)
            self._check_offset(resource, offset)
            if not (keep and pending):
                kept_expiry = expires_at if keep else resource.expires_at
                return self._after_write(resource, resource.offset, kept_expiry)
            fd = os.open(self._data(upload_id), APPEND)
        else:
            resource, fd = opened
        try:
            if keep:
                write_all(fd, pending)
            else:
                os.ftruncate(fd, offset)
            size = os.fstat(fd).st_size
            if resource.length is not None and size > resource.length:
                os.ftruncate(fd, resource.length)
                size = resource.length
        finally:
            os.close(fd)
        return self._after_write(resource, size, expires_at if keep else resource.expires_at)

    def _after_write(self, resource: Resource, size: int, expires_at: datetime | None) -> Resource:
        """The upload after a write (``resource`` as its info file held it before, ``size``
        the data file's size now). The info file is rewritten only when more than the
        offset changed: the data file's size is the offset (§4.1), and, as in tusd, the
        info file's offset is the one of its last write."""
        storage = {k: v for k, v in resource.storage.items() if k != CHUNK_MARKER}
        updated = resource.model_copy(
            update={"offset": size, "storage": storage, "expires_at": expires_at}
        )
        if storage != resource.storage or expires_at != resource.expires_at:
            self._write_info(updated)
        return updated


class DataFileTarget:
    """One upload's data file as a :class:`~tuskit_server.stores.base.PourTarget`: both
    methods run in the transfer thread; :meth:`open` checks the offset and opens the file
    for positional writes, :meth:`finish` closes it and records the new offset."""

    __slots__ = ("_expires_at", "_files", "_id", "_opened", "offset")

    def __init__(
        self, files: Appending, upload_id: str, offset: int, expires_at: datetime | None
    ) -> None:
        self._files = files
        self._id = upload_id
        self.offset = offset
        self._expires_at = expires_at
        self._opened: tuple[Resource, int] | None = None

    def open(self) -> int:
        self._opened = self._files._open_at(self._id, self.offset, False, WRITE)
        return self._opened[1]

    def finish(self, fd: int) -> Resource:
        opened = self._opened
        assert opened is not None
        assert opened[1] == fd
        return self._files._finish_write(self._id, self.offset, opened, [], True, self._expires_at)
