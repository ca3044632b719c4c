"""Terminating and expiring S3Store uploads, and forgetting their tombstones.

Order: (1) the tombstone ``<id>.gone`` is laid with ``If-None-Match: *`` (so of two
instances removing the same upload at once, one removes it and the other is told Gone),
recording the upload's objects; (2) the info object goes, so every instance answers 410
from then on; (3) the multipart upload is aborted and the data and tail objects deleted. A
crash after (1) leaves objects behind that :meth:`Removal.forget` deletes with the tombstone.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tuskit_common import Gone, NotFound
from tuskit_server._rules import is_expired
from tuskit_server.log import logger
from tuskit_server.stores.s3._finals import FinalsIndex
from tuskit_server.stores.s3._infos import MULTIPART
from tuskit_server.stores.s3._layout import Keys

__all__ = ["Removal"]


class Removal(FinalsIndex):
    """Mixin: :class:`~tuskit_server.stores.base.Terminator` and
    :class:`~tuskit_server.stores.base.Expirer` over the bucket."""

    _clock: Callable[[], datetime]

    async def terminate(self, upload_id: str) -> None:
        """Remove the upload, keeping a tombstone."""
        await self._remove(upload_id, "terminated")

    async def expire(self, upload_id: str) -> None:
        """Remove an expired upload, keeping a tombstone."""
        await self._remove(upload_id, "expired")

    async def _remove(self, upload_id: str, reason: str) -> None:
        self.forget_read()
        keys = self.keys(upload_id)
        resource = await self.read_info(keys, upload_id)
        upload = resource.storage.get(MULTIPART)
        stamp: dict[str, Any] = {"reason": reason, "at": self._clock().isoformat()}
        if isinstance(upload, str):
            stamp[MULTIPART] = upload
        if not await self.bucket.put_new(keys.gone, json.dumps(stamp).encode("utf-8")):
            raise Gone("the upload was terminated or has expired")
        await self.bucket.delete(keys.info)
        await self._delete_objects(keys, stamp)
        if resource.is_final:
            await self._unmark_waiting(resource)

    async def _delete_objects(self, keys: Keys, stamp: dict[str, Any]) -> None:
        upload = stamp.get(MULTIPART)
        if isinstance(upload, str):
            await self.bucket.abort(keys.data, upload)
        await self.bucket.delete(keys.data, keys.part)

    async def expired(self, now: datetime) -> list[str]:
        """Unfinished uploads whose expiry has passed (read from every info object)."""
        return sorted(r.id for r in await self.scan() if is_expired(r, now))

    async def forget(self, before: datetime) -> int:
        """Delete tombstones laid before ``before``, and what a cut removal left behind."""
        count = 0
        for key in await self.bucket.keys(self.prefix, ".gone"):
            upload_id = key[len(self.prefix) : -len(".gone")]
            try:
                keys = self.keys(upload_id)
            except NotFound:
                continue
            raw = await self.bucket.read(key)
            if raw is None:
                continue  # another instance forgot it meanwhile
            try:
                stamp = json.loads(raw)
                at = datetime.fromisoformat(stamp["at"])
            except (ValueError, KeyError, TypeError):
                logger.warning("tombstone %s is unreadable; forgotten now", key)
                stamp, at = {}, datetime.min.replace(tzinfo=UTC)
            if at >= before:
                continue
            await self._delete_objects(keys, stamp if isinstance(stamp, dict) else {})
            await self.bucket.delete(key)
            count += 1
        return count
