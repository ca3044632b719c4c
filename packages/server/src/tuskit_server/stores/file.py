"""FileStore: one data file plus one JSON info file per upload, in one directory.

Layout (like tusd's filestore): ``<root>/<id>`` holds the bytes, ``<root>/<id>.info`` the
:class:`Resource` as JSON, ``<root>/<id>.gone`` a tombstone after termination or expiry.
The offset is always the data file's size (digest §4.1), never a number taken from a header.
Info files are replaced atomically (temp file + ``os.replace``), without ``fsync``: the data
file is not synced either (tusd's and @tus/server's file stores sync neither), and an fsync
per request cost most of a small upload's time. A checksummed chunk records
its start in the info file before its first byte is written; a mismatch, a cut, or a restart
that finds the marker truncates the data back to it (tusdotnet's model, digest §3.5).

Every disk access runs in a worker thread (``asyncio.to_thread``); bodies are written in
bounded batches (one thread hop per :data:`_BATCH` bytes, the pieces handed to the file as
they are, never joined), so memory stays flat whatever the chunk size.
"""

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from tuskit_common import BadRequest, Gone, NotFound, OffsetMismatch, Resource
from tuskit_server._rules import ID_PATTERN, is_expired
from tuskit_server.errors import UploadExists

__all__ = ["FileStore"]

_BATCH = 1024 * 1024
_MARKER = "chunk_start"

JsonDumps = Callable[[Any], str]
JsonLoads = Callable[[str], Any]


class FileStore:
    """The default store: local files under ``root``.

    Args:
        root: the directory; created on :meth:`open` (and on first use).
        json_dumps / json_loads: the info-file codec (aiohttp-tus's options).
        mkdir_mode: permissions for a created directory.
        clock: the time source for tombstones (tests inject one).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        json_dumps: JsonDumps = json.dumps,
        json_loads: JsonLoads = json.loads,
        mkdir_mode: int = 0o755,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self.root = Path(root)
        self._dumps = json_dumps
        self._loads = json_loads
        self._mkdir_mode = mkdir_mode
        self._ready = False

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    # -- paths -------------------------------------------------------------------------------

    def _data(self, upload_id: str) -> Path:
        """The data path of a valid id; ids are re-checked here (defence in depth, §7)."""
        if not ID_PATTERN.fullmatch(upload_id):
            raise NotFound("no such upload")
        path = self.root / upload_id
        if path.parent != self.root:
            raise NotFound("no such upload")
        return path

    def _info(self, upload_id: str) -> Path:
        return self._data(upload_id).with_name(upload_id + ".info")

    def _gone(self, upload_id: str) -> Path:
        return self._data(upload_id).with_name(upload_id + ".gone")

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the directory and repair uploads a crash cut mid-chunk."""
        await asyncio.to_thread(self._mkdir)
        await asyncio.to_thread(self._recover_all)

    async def close(self) -> None:
        """Nothing to release: files are opened per call."""

    def _mkdir(self) -> None:
        if not self._ready:
            self.root.mkdir(mode=self._mkdir_mode, parents=True, exist_ok=True)
            self._ready = True

    # -- info files --------------------------------------------------------------------------

    def _read_info(self, upload_id: str) -> Resource:
        try:
            text = self._info(upload_id).read_text("utf-8")
        except FileNotFoundError:
            raise NotFound("no such upload") from None
        return Resource.model_validate(self._loads(text))

    def _write_info(self, resource: Resource) -> None:
        target = self._info(resource.id)
        text = self._dumps(resource.model_dump(mode="json"))
        fd, temp = tempfile.mkstemp(dir=self.root, prefix=f".{resource.id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _load(self, upload_id: str) -> Resource:
        """Read an upload without changing anything: the offset is the bytes on disk, or the
        start of a checksummed chunk still in progress (digest §4.1, §3.5). Safe without
        the upload's lock (downloads, sweeps)."""
        if self._gone(upload_id).exists():
            raise Gone("the upload was terminated or has expired")
        resource = self._read_info(upload_id)
        try:
            size = self._data(upload_id).stat().st_size
        except FileNotFoundError:
            raise NotFound("no such upload") from None
        marker = resource.storage.get(_MARKER)
        offset = marker if isinstance(marker, int) and 0 <= marker <= size else size
        if resource.length is not None:
            offset = min(offset, resource.length)
        if offset != resource.offset:
            resource = resource.model_copy(update={"offset": offset})
        return resource

    def _repair(self, upload_id: str) -> Resource:
        """Make the files agree with :meth:`_load` (drop a cut checksummed chunk, bytes past
        the length); only at start-up or under the upload's lock, before a write."""
        resource = self._load(upload_id)
        data = self._data(upload_id)
        if data.stat().st_size != resource.offset:
            os.truncate(data, resource.offset)
        if _MARKER in resource.storage:
            storage = {k: v for k, v in resource.storage.items() if k != _MARKER}
            resource = resource.model_copy(update={"storage": storage})
            self._write_info(resource)
        return resource

    def _recover_all(self) -> int:
        """At start-up: repair every upload a crash left in the middle of a checksummed
        chunk; returns how many were repaired."""
        count = 0
        for info in self.root.glob("*.info"):
            upload_id = info.name[: -len(".info")]
            if not ID_PATTERN.fullmatch(upload_id):
                continue
            try:
                if _MARKER in self._read_info(upload_id).storage:
                    self._repair(upload_id)
                    count += 1
            except (NotFound, Gone, ValueError, OSError):
                continue
        return count

    # -- DataStore ---------------------------------------------------------------------------

    async def create(self, resource: Resource) -> Resource:
        """Create ``<id>`` exclusively and its info file."""
        return await asyncio.to_thread(self._create, resource)

    def _create(self, resource: Resource) -> Resource:
        self._mkdir()
        data = self._data(resource.id)
        if self._gone(resource.id).exists():
            raise UploadExists(f"upload id {resource.id} was used before")
        try:
            fd = os.open(data, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise UploadExists(f"upload id {resource.id} already exists") from None
        os.close(fd)
        resource = resource.model_copy(update={"offset": 0})
        try:
            self._write_info(resource)
        except BaseException:
            data.unlink(missing_ok=True)
            raise
        return resource

    async def get(self, upload_id: str) -> Resource:
        """Read one upload (no file is changed: safe without the lock)."""
        return await asyncio.to_thread(self._load, upload_id)

    async def write(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        expires_at: datetime | None,
    ) -> Resource:
        """Append ``body`` at ``offset``; what arrived is kept even if ``body`` ends early."""
        _, handle = await asyncio.to_thread(self._open_at, upload_id, offset, False)
        rest: list[bytes] = []
        try:
            await self._stream(handle, body, rest)
        finally:
            done = asyncio.to_thread(self._close, handle, rest, upload_id, expires_at, None)
            updated = await asyncio.shield(done)
        return updated

    async def write_staged(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        accept: Callable[[], bool],
        expires_at: datetime | None,
    ) -> Resource:
        """Append ``body`` behind a marker; truncate back to ``offset`` unless accepted."""
        resource, handle = await asyncio.to_thread(self._open_at, upload_id, offset, True)
        rest: list[bytes] = []
        keep = False
        try:
            await self._stream(handle, body, rest)
            keep = accept()
        finally:
            done = asyncio.to_thread(
                self._close,
                handle,
                rest,
                upload_id,
                expires_at if keep else resource.expires_at,
                None if keep else offset,
            )
            updated = await asyncio.shield(done)
        return updated

    @staticmethod
    def _check_offset(resource: Resource, offset: int) -> None:
        if resource.offset != offset:
            raise OffsetMismatch(
                f"offset {offset} does not match {resource.offset}", offset=resource.offset
            )

    def _open_at(self, upload_id: str, offset: int, mark: bool) -> tuple[Resource, BinaryIO]:
        """Repair, check the offset, record a chunk marker if asked, and open the data file
        for appending: one worker-thread call before the body is read."""
        resource = self._repair(upload_id)
        self._check_offset(resource, offset)
        if mark:
            self._write_info(
                resource.model_copy(update={"storage": {**resource.storage, _MARKER: offset}})
            )
        return resource, self._data(upload_id).open("ab")

    @staticmethod
    async def _stream(handle: BinaryIO, body: AsyncIterable[bytes], rest: list[bytes]) -> None:
        """Write ``body`` in batches of about :data:`_BATCH` bytes, one thread hop each; the
        last, partial batch is left in ``rest`` for :meth:`_close`."""
        size = 0
        async for piece in body:
            rest.append(piece)
            size += len(piece)
            if size >= _BATCH:
                await asyncio.to_thread(handle.writelines, rest)
                rest.clear()
                size = 0

    def _close(
        self,
        handle: BinaryIO,
        rest: list[bytes],
        upload_id: str,
        expires_at: datetime | None,
        truncate_to: int | None,
    ) -> Resource:
        """Write the last batch, close the file and record the result (one thread hop)."""
        try:
            handle.writelines(rest)
            handle.flush()
        finally:
            handle.close()
        return self._after_write(upload_id, expires_at, truncate_to)

    def _after_write(
        self, upload_id: str, expires_at: datetime | None, truncate_to: int | None
    ) -> Resource:
        """Record the new offset (and drop a rejected chunk) in the info file."""
        resource = self._read_info(upload_id)
        data = self._data(upload_id)
        if truncate_to is not None:
            os.truncate(data, truncate_to)
        size = data.stat().st_size
        if resource.length is not None and size > resource.length:
            os.truncate(data, resource.length)
            size = resource.length
        storage = {k: v for k, v in resource.storage.items() if k != _MARKER}
        update: dict[str, Any] = {"offset": size, "storage": storage}
        if truncate_to is None:
            update["expires_at"] = expires_at
        resource = resource.model_copy(update=update)
        self._write_info(resource)
        return resource

    # -- capabilities ------------------------------------------------------------------------

    async def declare_length(self, upload_id: str, length: int) -> Resource:
        """Record a deferred length."""
        return await asyncio.to_thread(self._declare, upload_id, length)

    def _declare(self, upload_id: str, length: int) -> Resource:
        resource = self._repair(upload_id).model_copy(update={"length": length})
        self._write_info(resource)
        return resource

    async def terminate(self, upload_id: str) -> None:
        """Delete data and info; leave a tombstone."""
        await asyncio.to_thread(self._remove, upload_id, "terminated")

    async def expire(self, upload_id: str) -> None:
        """Delete an expired upload; leave a tombstone."""
        await asyncio.to_thread(self._remove, upload_id, "expired")

    def _remove(self, upload_id: str, reason: str) -> None:
        if self._gone(upload_id).exists():
            raise Gone("the upload was terminated or has expired")
        if not self._info(upload_id).exists():
            raise NotFound("no such upload")
        stamp = {"reason": reason, "at": self._clock().isoformat()}
        self._gone(upload_id).write_text(self._dumps(stamp), "utf-8")
        self._info(upload_id).unlink(missing_ok=True)
        self._data(upload_id).unlink(missing_ok=True)

    async def expired(self, now: datetime) -> list[str]:
        """Scan the info files for unfinished uploads past their expiry."""
        return await asyncio.to_thread(self._scan_expired, now)

    def _scan_expired(self, now: datetime) -> list[str]:
        return [resource.id for resource in self._scan() if is_expired(resource, now)]

    def _scan(self) -> Iterator[Resource]:
        """Every readable upload under the root; unreadable or foreign files are skipped."""
        if not self.root.is_dir():
            return
        for info in self.root.glob("*.info"):
            upload_id = info.name[: -len(".info")]
            if not ID_PATTERN.fullmatch(upload_id):
                continue
            try:
                yield self._load(upload_id)
            except (NotFound, Gone, ValueError, OSError):
                continue

    async def forget(self, before: datetime) -> int:
        """Remove tombstones older than ``before``."""
        return await asyncio.to_thread(self._forget, before)

    def _forget(self, before: datetime) -> int:
        count = 0
        if not self.root.is_dir():
            return count
        for gone in self.root.glob("*.gone"):
            try:
                stamp = datetime.fromisoformat(self._loads(gone.read_text("utf-8"))["at"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if stamp < before:
                gone.unlink(missing_ok=True)
                count += 1
        return count

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
                    shutil.copyfileobj(source, out, _BATCH)
                total += partial.length or 0
            out.flush()
        final = final.model_copy(update={"length": total, "offset": total, "expires_at": None})
        self._write_info(final)
        return final

    async def pending_finals(self) -> list[Resource]:
        """Scan the info files for final uploads not concatenated yet."""
        return await asyncio.to_thread(self._scan_finals)

    def _scan_finals(self) -> list[Resource]:
        return [r for r in self._scan() if r.is_final and not r.is_complete]

    async def data_path(self, upload_id: str) -> Path:
        """The data file of an upload."""
        return self._data(upload_id)
