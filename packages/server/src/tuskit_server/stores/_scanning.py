"""Whole-directory work of a :class:`~tuskit_server.stores.file.FileStore`: recovery at
start-up, expiry and pending-final scans, usage and forgetting old tombstones.

Each walks every info file, so it runs in ``asyncio.to_thread``, never in the file thread
that serves the short per-upload operations.
"""

import asyncio
from collections.abc import Iterator
from datetime import datetime

from tuskit_common import Gone, NotFound, Resource
from tuskit_server._rules import ID_PATTERN, is_expired
from tuskit_server.stores._info_files import CHUNK_MARKER, InfoFiles
from tuskit_server.stores._removal import forget_tombstones
from tuskit_server.stores._salvage import BAD_SUFFIX
from tuskit_server.stores.base import Usage, usage_of

__all__ = ["Scanning"]


class Scanning(InfoFiles):
    """Mixin: :class:`~tuskit_server.stores.base.Expirer`'s scans,
    :class:`~tuskit_server.stores.base.UsageReporter`, pending finals and recovery."""

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
                elif CHUNK_MARKER in self._read_info(upload_id).storage:
                    self._repair(upload_id)
                    count += 1
            except (NotFound, Gone, ValueError, OSError):
                continue
        return count

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

    async def pending_finals(self) -> list[Resource]:
        """Scan the info files for final uploads not concatenated yet."""
        return await asyncio.to_thread(self._scan_finals)

    def _scan_finals(self) -> list[Resource]:
        return [r for r in self._scan() if r.is_final and not r.is_complete]
