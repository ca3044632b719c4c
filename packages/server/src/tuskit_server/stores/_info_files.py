"""The info files of a :class:`~tuskit_server.stores.file.FileStore`: paths, reading (cached
by file signature), atomic rewriting, and the upload as the files on disk say it is.

Layout (like tusd's filestore): ``<root>/<id>`` holds the bytes, ``<root>/<id>.info`` the
:class:`Resource` as JSON, ``<root>/<id>.gone`` a tombstone after termination or expiry.
The offset is always the data file's size (digest §4.1), never a number taken from a header.
Info files are replaced atomically (temp file + ``os.replace``), without ``fsync``: the data
file is not synced either (tusd's and @tus/server's file stores sync neither), and an fsync
per request cost most of a small upload's time. A checksummed chunk records its start
(:data:`CHUNK_MARKER`) before its first byte is written; a restart or the next write that
finds it truncates the data back to it (tusdotnet's model, digest §3.5). Blocking: callers
run these methods off the event loop.
"""

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tuskit_common import Gone, NotFound, Resource
from tuskit_server._rules import ID_PATTERN
from tuskit_server.stores._files import (
    CREATE_NEW,
    InfoCache,
    read_whole,
    signature,
    umask,
    write_all,
)
from tuskit_server.stores._placed import PLACED
from tuskit_server.stores._salvage import decode_info, salvage

__all__ = ["CHUNK_MARKER", "InfoFiles", "JsonDumps", "JsonLoads"]

#: The info file's storage key for the start of a checksummed chunk still in progress.
CHUNK_MARKER = "chunk_start"

JsonDumps = Callable[[Any], str]
JsonLoads = Callable[[str], Any]


class InfoFiles:
    """The upload files under ``root`` (the arguments are :class:`FileStore`'s)."""

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

    def _mkdir(self) -> None:
        if not self._ready:
            self.root.mkdir(mode=self._mkdir_mode, parents=True, exist_ok=True)
            self._ready = True

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
        marker = resource.storage.get(CHUNK_MARKER)
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
        if CHUNK_MARKER in resource.storage:
            storage = {k: v for k, v in resource.storage.items() if k != CHUNK_MARKER}
            resource = resource.model_copy(update={"storage": storage})
            self._write_info(resource)
        return resource
