"""FileStore: one data file plus one JSON info file per upload, in one directory.

This module is the store users name and its per-upload lifecycle (create, read, declare a
length, remove, concatenate); its other jobs are mixins, one reason to change each:
:mod:`._info_files` (layout, info files, the offset from disk), :mod:`._appending` (bodies,
in batches or poured), :mod:`._scanning` (recovery and directory scans) and
:mod:`._placed` (named files, downloads). Every disk access runs off the event loop: the
short operations in the process's file thread (:mod:`~tuskit_server.stores._file_thread`),
the rest in ``asyncio.to_thread``.
"""

import asyncio
import os
import shutil
from collections.abc import Sequence

from tuskit_common import BadRequest, Resource
from tuskit_server.errors import UploadExists
from tuskit_server.stores._appending import BATCH, Appending
from tuskit_server.stores._file_thread import FILE_THREAD
from tuskit_server.stores._files import CREATE_NEW
from tuskit_server.stores._placed import PlacedFiles
from tuskit_server.stores._removal import remove_files
from tuskit_server.stores._salvage import BAD_SUFFIX
from tuskit_server.stores._scanning import Scanning

__all__ = ["FileStore"]


class FileStore(Appending, Scanning, PlacedFiles):
    """The default store: local files under ``root``.

    Args:
        root: the directory; created on :meth:`open` (and on first use).
        json_dumps / json_loads: the info-file codec (aiohttp-tus's options).
        mkdir_mode: permissions for a created directory.
        clock: the time source for tombstones (tests inject one).
        expire_recovered_after: expiry of an upload recovered from an unreadable info file,
            from its data file's last write (:mod:`._salvage`); None: never.
    """

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the directory and repair uploads a crash cut mid-chunk."""
        await FILE_THREAD.run(self._mkdir)
        await asyncio.to_thread(self._recover_all)

    async def close(self) -> None:
        """Nothing to release: files are opened per call."""

    # -- DataStore ---------------------------------------------------------------------------

    async def create(self, resource: Resource) -> Resource:
        """Create ``<id>`` exclusively and its info file."""
        return await FILE_THREAD.run(self._create, resource)

    def _create(self, resource: Resource) -> Resource:
        self._mkdir()
        data = self._data(resource.id)
        if self._gone(resource.id).exists():
            raise UploadExists(f"upload id {resource.id} was used before")
        try:
            fd = os.open(data, CREATE_NEW, 0o644)
        except FileExistsError:
            raise UploadExists(f"upload id {resource.id} already exists") from None
        os.close(fd)
        resource = resource.model_copy(update={"offset": 0})
        try:
            self._write_new_info(resource)
        except BaseException:
            data.unlink(missing_ok=True)
            raise
        return resource

    async def get(self, upload_id: str) -> Resource:
        """Read one upload (no file is changed: safe without the lock)."""
        return await FILE_THREAD.run(self._load, upload_id)

    # -- capabilities ------------------------------------------------------------------------

    async def declare_length(self, upload_id: str, length: int) -> Resource:
        """Record a deferred length."""
        return await FILE_THREAD.run(self._declare, upload_id, length)

    def _declare(self, upload_id: str, length: int) -> Resource:
        resource = self._repair(upload_id).model_copy(update={"length": length})
        self._write_info(resource)
        return resource

    async def terminate(self, upload_id: str) -> None:
        """Delete data and info; leave a tombstone."""
        await FILE_THREAD.run(self._remove, upload_id, "terminated")

    async def expire(self, upload_id: str) -> None:
        """Delete an expired upload; leave a tombstone."""
        await FILE_THREAD.run(self._remove, upload_id, "expired")

    def _remove(self, upload_id: str, reason: str) -> None:
        """Free the data first, with a tombstone that needs no room (:mod:`._removal`)."""
        stamp = self._dumps({"reason": reason, "at": self._clock().isoformat()})
        self._cache.drop(upload_id)
        info = self._info(upload_id)
        remove_files(
            upload_id,
            info=info,
            data=self._data(upload_id),
            gone=self._gone(upload_id),
            extra=info.with_name(upload_id + BAD_SUFFIX),
            stamp=stamp.encode("utf-8"),
        )

    async def concatenate(self, final_id: str, partial_ids: Sequence[str]) -> Resource:
        """Copy the partials' bytes into the final's data file, in order."""
        return await asyncio.to_thread(self._concatenate, final_id, partial_ids)

    def _concatenate(self, final_id: str, partial_ids: Sequence[str]) -> Resource:
        final = self._repair(final_id)
        total = 0
        with self._data(final_id).open("wb") as out:
            for partial_id in partial_ids:
                partial = self._load(partial_id)
                if not partial.is_complete:
                    raise BadRequest(f"partial upload {partial_id} is not finished")
                with self._data(partial_id).open("rb") as source:
                    shutil.copyfileobj(source, out, BATCH)
                total += partial.length or 0
            out.flush()
        final = final.model_copy(update={"length": total, "offset": total, "expires_at": None})
        self._write_info(final)
        return final
