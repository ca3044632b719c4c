"""FileStore: one data file plus one JSON info file per upload, in one directory.

Layout (like tusd's filestore): ``<root>/<id>`` holds the bytes, ``<root>/<id>.info`` the
:class:`Resource` as JSON, ``<root>/<id>.gone`` a tombstone after termination or expiry.
The offset is always the data file's size (digest §4.1), never a number taken from a header.
Info files are replaced atomically (temp file + ``os.replace``), without ``fsync``: the data
file is not synced either (tusd's and @tus/server's file stores sync neither), and an fsync
per request cost most of a small upload's time. A write rewrites the info file only when
more than the offset changed (the expiry moves by whole seconds). A checksummed chunk records
its start in the info file before its first byte is written; a mismatch, a cut, or a restart
that finds the marker truncates the data back to it (tusdotnet's model, digest §3.5).

Every disk access runs off the event loop: the short operations (creating, reading,
opening and settling an upload) in the process's file thread
(:mod:`~tuskit_server.stores._file_thread`), the rest in ``asyncio.to_thread``. Bodies are
written in bounded batches (one thread hop per :data:`_BATCH` bytes, the pieces handed to
the file as they are, never joined), so memory stays flat whatever the chunk size, and a
body smaller than a batch costs one hop to the file thread in all. A large body that can
pour itself (:class:`~tuskit_server.stores.base.PourableBody`) is written by a transfer
thread straight from the socket instead.
"""

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tuskit_common import BadRequest, Gone, NotFound, OffsetMismatch, Resource
from tuskit_server._rules import ID_PATTERN, is_expired
from tuskit_server.errors import UploadExists
from tuskit_server.stores._file_thread import FILE_THREAD
from tuskit_server.stores._files import (
    APPEND,
    CREATE_NEW,
    InfoCache,
    read_whole,
    signature,
    umask,
    write_all,
)
from tuskit_server.stores._placed import PLACED, PlacedFiles
from tuskit_server.stores._pour_into import PourInto
from tuskit_server.stores._removal import forget_tombstones, remove_files
from tuskit_server.stores._salvage import BAD_SUFFIX, decode_info, salvage
from tuskit_server.stores.base import PourableBody, Usage, usage_of

__all__ = ["FileStore"]

_BATCH = 1024 * 1024
_MARKER = "chunk_start"

JsonDumps = Callable[[Any], str]
JsonLoads = Callable[[str], Any]


class FileStore(PlacedFiles):
    """The default store: local files under ``root`` (``place`` and ``data_path`` are in
    :mod:`~tuskit_server.stores._placed`).

    Args:
        root: the directory; created on :meth:`open` (and on first use).
        json_dumps / json_loads: the info-file codec (aiohttp-tus's options).
        mkdir_mode: permissions for a created directory.
        clock: the time source for tombstones (tests inject one).
        expire_recovered_after: expiry of an upload recovered from an unreadable info file,
            from its data file's last write (:mod:`._salvage`); None: never.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        json_dumps: JsonDumps = json.dumps,
        json_loads: JsonLoads = json.loads,
        mkdir_mode: int = 0o755,
        clock: Callable[[], datetime] | None = None,
        expire_recovered_after: timedelta | None = None,
    ) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self.root = Path(root)
        self._dumps = json_dumps
        self._loads = json_loads
        self._mkdir_mode = mkdir_mode
        self._ready = False
        self._cache: InfoCache[Resource] = InfoCache()
        self._expire_recovered = expire_recovered_after
        # A rewritten info file keeps a new one's mode (0644 less the umask), not mkstemp's 0600.
        self._info_mode = 0o644 & ~umask()

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
        await FILE_THREAD.run(self._mkdir)
        await asyncio.to_thread(self._recover_all)

    async def close(self) -> None:
        """Nothing to release: files are opened per call."""

    def _mkdir(self) -> None:
        if not self._ready:
            self.root.mkdir(mode=self._mkdir_mode, parents=True, exist_ok=True)
            self._ready = True

    # -- info files --------------------------------------------------------------------------

    def _read_info(self, upload_id: str) -> Resource:
        """The info file's upload; parsed again only when the file changed since it was
        last read (one ``stat`` otherwise)."""
        path = str(self._info(upload_id))
        try:
            current = signature(os.stat(path))
            cached = self._cache.get(upload_id, current)
            if cached is not None:
                return cached
            raw = read_whole(path, current[1])
        except FileNotFoundError:
            raise NotFound("no such upload") from None
        resource = decode_info(raw, upload_id, self._loads)
        if resource is None:
            return salvage(
                Path(path),
                self._data(upload_id),
                upload_id,
                write_info=self._write_info,
                expire_after=self._expire_recovered,
            )
        self._cache.put(upload_id, current, resource)
        return resource

    def _write_info(self, resource: Resource) -> None:
        """Replace the info file atomically (temp file + rename)."""
        target = self._info(resource.id)
        text = self._dumps(resource.model_dump(mode="json")).encode("utf-8")
        self._cache.drop(resource.id)
        fd, temp = tempfile.mkstemp(dir=self.root, prefix=f".{resource.id}.", suffix=".tmp")
        try:
            try:
                os.fchmod(fd, self._info_mode)
                write_all(fd, [text])
            finally:
                os.close(fd)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _write_new_info(self, resource: Resource) -> None:
        """Write the info file of a new upload in place: it must not exist yet, so there is
        nothing to replace atomically (a rename over a file is the costliest step of a small
        upload). A crash mid-write leaves an unreadable info file, which reads as no upload:
        the POST that created it was never answered."""
        target = self._info(resource.id)
        text = self._dumps(resource.model_dump(mode="json")).encode("utf-8")
        fd = os.open(target, CREATE_NEW, 0o644)
        try:
            try:
                write_all(fd, [text])
                self._cache.put(resource.id, signature(os.fstat(fd)), resource)
            finally:
                os.close(fd)
        except BaseException:
            self._cache.drop(resource.id)
            target.unlink(missing_ok=True)
            raise

    def _load(self, upload_id: str) -> Resource:
        """Read an upload without changing anything: the offset is the bytes on disk, or the
        start of a checksummed chunk still in progress (digest §4.1, §3.5). Safe without
        the upload's lock (downloads, sweeps)."""
        return self._load_sized(upload_id)[0]

    def _load_sized(self, upload_id: str) -> tuple[Resource, int]:
        """:meth:`_load` and the data file's size. A tombstone is looked for only when the
        info file is missing (:meth:`_remove` writes it before deleting the info file, and
        start-up finishes a removal a crash cut)."""
        try:
            resource = self._read_info(upload_id)
        except NotFound:
            if self._gone(upload_id).exists():
                raise Gone("the upload was terminated or has expired") from None
            raise
        if PLACED in resource.storage:  # finished, its bytes moved to a named file
            return resource, resource.offset
        try:
            size = os.stat(self._data(upload_id)).st_size
        except FileNotFoundError:
            raise NotFound("no such upload") from None
        marker = resource.storage.get(_MARKER)
        offset = marker if isinstance(marker, int) and 0 <= marker <= size else size
        if resource.length is not None:
            offset = min(offset, resource.length)
        if offset != resource.offset:
            resource = resource.model_copy(update={"offset": offset})
        return resource, size

    def _repair(self, upload_id: str) -> Resource:
        """Make the files agree with :meth:`_load` (drop a cut checksummed chunk, bytes past
        the length); only at start-up or under the upload's lock, before a write."""
        resource, size = self._load_sized(upload_id)
        if size != resource.offset:
            os.truncate(self._data(upload_id), resource.offset)
        if _MARKER in resource.storage:
            storage = {k: v for k, v in resource.storage.items() if k != _MARKER}
            resource = resource.model_copy(update={"storage": storage})
            self._write_info(resource)
        return resource

    def _recover_all(self) -> int:
        """At start-up: finish every removal and repair every upload a crash left in the
        middle of a checksummed chunk; returns how many uploads were repaired."""
        count = 0
        for info in self.root.glob("*.info"):
            upload_id = info.name[: -len(".info")]
            if not ID_PATTERN.fullmatch(upload_id):
                continue
            try:
                if self._gone(upload_id).exists():
                    self._delete_files(upload_id)
                elif _MARKER in self._read_info(upload_id).storage:
                    self._repair(upload_id)
                    count += 1
            except (NotFound, Gone, ValueError, OSError):
                continue
        return count

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

    async def write(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        expires_at: datetime | None,
    ) -> Resource:
        """Append ``body`` at ``offset``; what arrived is kept even if ``body`` ends early."""
        return await self._append(upload_id, offset, body, accept=None, expires_at=expires_at)

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
        return await self._append(upload_id, offset, body, accept=accept, expires_at=expires_at)

    async def _append(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        accept: Callable[[], bool] | None,
        expires_at: datetime | None,
    ) -> Resource:
        """Write ``body`` in batches of about :data:`_BATCH` bytes, one thread hop each.

        The data file is opened (and a checksummed chunk's marker recorded) only once a
        first full batch has arrived; a body that ends before that, which is every small
        upload, is written, closed and recorded in a single thread hop after it was read,
        and a rejected one never touches the data file. Opening and batch writes are never
        abandoned half-way: a cancelled request waits for them before the rest is settled
        (the file is closed, no bytes are written twice), and after a failed write nothing
        more is appended (no gap).
        """
        if accept is None and isinstance(body, PourableBody) and await body.pourable():
            return await self._pour(upload_id, offset, body, expires_at)
        opening: asyncio.Future[tuple[Resource, int]] | None = None
        pending: list[bytes] = []
        writing: asyncio.Future[int] | None = None
        keep = accept is None
        try:
            size = 0
            async for piece in body:
                pending.append(piece)
                size += len(piece)
                if size >= _BATCH:
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
                self._settle_after(upload_id, offset, opening, writing, pending, keep, expires_at)
            )
        return updated

    async def _pour(
        self, upload_id: str, offset: int, body: PourableBody, expires_at: datetime | None
    ) -> Resource:
        """Let ``body`` pour itself into the data file: one thread opens it for positional
        writes, takes the bytes and settles (no other thread hop for a large chunk)."""
        return await body.pour(PourInto(self, upload_id, offset, expires_at))

    async def _settle_after(
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
        :meth:`_settle` in one thread hop. A failed opening is raised again there."""
        opened = None
        if opening is not None:
            await asyncio.wait([opening])
            if opening.exception() is None:
                opened = opening.result()
        if writing is not None:
            await asyncio.wait([writing])
        return await FILE_THREAD.run(
            self._settle, upload_id, offset, opened, pending, keep, expires_at
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
                update={"storage": {**resource.storage, _MARKER: offset}}
            )
            self._write_info(resource)
        return resource, os.open(self._data(upload_id), flags)

    def _settle(
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
        storage = {k: v for k, v in resource.storage.items() if k != _MARKER}
        updated = resource.model_copy(
            update={"offset": size, "storage": storage, "expires_at": expires_at}
        )
        if storage != resource.storage or expires_at != resource.expires_at:
            self._write_info(updated)
        return updated

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

    def _delete_files(self, upload_id: str) -> None:
        """Delete an upload's info and data files (its tombstone is already written)."""
        self._cache.drop(upload_id)
        self._data(upload_id).unlink(missing_ok=True)
        self._info(upload_id).unlink(missing_ok=True)
        self._info(upload_id).with_name(upload_id + BAD_SUFFIX).unlink(missing_ok=True)

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
        return await asyncio.to_thread(forget_tombstones, self.root, before, self._loads)

    async def usage(self) -> Usage:
        """Bytes reserved and unfinished uploads, from every readable info file."""
        return await asyncio.to_thread(usage_of, self._scan)

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
