"""The info objects of an S3Store and the upload as S3 says it is: the Resource from
``<id>.info``, its offset from the committed parts and the tail (never from a number the
info object holds), tombstones looked up only when the info object is missing or its
multipart upload is gone (removal lays the tombstone first)."""

import asyncio
import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import NoReturn

from pydantic import ValidationError

from tuskit_common import Gone, NotFound, Resource, ServerError
from tuskit_server.stores.s3._bucket import Bucket, Part
from tuskit_server.stores.s3._layout import MIN_PART, STORAGE_TYPE, Keys
from tuskit_server.stores.s3._parts import Held, Sizing, append, held_of, nothing

__all__ = ["MULTIPART", "Infos", "MultipartStarter"]

#: The storage mapping's key for the multipart upload holding the bytes.
MULTIPART = "MultipartUpload"
#: Info objects read at once by a scan (sweeps, start-up).
_SCAN_AT_ONCE = 16

State = tuple[Resource, "Held | None"]
#: The state the current request's last :meth:`Infos.get` read: (store, upload id, state).
#: A context variable, so it is seen by the request (task) that read it and no other.
_JUST_READ: ContextVar[tuple[int, str, State] | None] = ContextVar("_JUST_READ", default=None)


class Infos:
    """The uploads under ``prefix`` of a bucket; the store opens the bucket."""

    def __init__(self, prefix: str, clock: Callable[[], datetime] | None) -> None:
        self.prefix = prefix
        self._clock = clock or (lambda: datetime.now(UTC))
        self._bucket: Bucket | None = None

    @property
    def bucket(self) -> Bucket:
        if self._bucket is None:
            raise RuntimeError("the S3Store is not open (call open() first)")
        return self._bucket

    def keys(self, upload_id: str) -> Keys:
        return Keys.of(self.prefix, upload_id)

    def storage(self, keys: Keys, upload: str | None) -> dict[str, object]:
        """Where the upload is (tusd's ``Storage``), for hooks and ``on_upload_done``."""
        where: dict[str, object] = {
            "Type": STORAGE_TYPE,
            "Bucket": self.bucket.name,
            "Key": keys.data,
        }
        if upload is not None:
            where[MULTIPART] = upload
        return where

    @staticmethod
    def encode(resource: Resource) -> bytes:
        return json.dumps(resource.model_dump(mode="json")).encode("utf-8")

    async def write_info(self, resource: Resource) -> None:
        await self.bucket.put(self.keys(resource.id).info, self.encode(resource))

    async def raise_missing(self, keys: Keys) -> NoReturn:
        """Gone when a tombstone is there, else NotFound."""
        if await self.bucket.head(keys.gone) is not None:
            raise Gone("the upload was terminated or has expired")
        raise NotFound("no such upload")

    async def read_info(self, keys: Keys, upload_id: str) -> Resource:
        raw = await self.bucket.read(keys.info)
        if raw is None:
            await self.raise_missing(keys)
        try:
            resource = Resource.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            raise ServerError(f"the info object of upload {upload_id} is unreadable") from None
        if resource.id != upload_id:
            raise ServerError(f"the info object of upload {upload_id} names another upload")
        return resource

    def remember(self, upload_id: str, state: State) -> None:
        """Keep ``state`` for this request's next append to the same upload."""
        _JUST_READ.set((id(self), upload_id, state))

    def forget_read(self) -> None:
        """Drop what :meth:`remember` kept (every change of an upload calls this)."""
        _JUST_READ.set(None)

    async def state_for_append(self, upload_id: str) -> State:
        """The state a PATCH's append starts from: the one this request just read under the
        upload's lock (its handler reads the upload first, then appends, holding the lock
        across both, so nothing can have changed in between), else read now. Taken once."""
        kept = _JUST_READ.get()
        _JUST_READ.set(None)
        if kept is not None and kept[0] == id(self) and kept[1] == upload_id:
            return kept[2]
        return await self.state(upload_id)

    async def state(self, upload_id: str) -> tuple[Resource, Held | None]:
        """The upload with its offset from S3, and what S3 holds of it (None once finished,
        or for a final upload not built yet)."""
        keys = self.keys(upload_id)
        resource = await self.read_info(keys, upload_id)
        if resource.is_complete:
            return resource, None
        upload = resource.storage.get(MULTIPART)
        upload = upload if isinstance(upload, str) else None
        parts: list[Part] | None = [] if upload is None and not resource.is_final else None
        if upload is not None and not resource.is_final:
            parts = await self.bucket.parts(keys.data, upload)
        if parts is None:  # a final upload, or completed, or removed meanwhile
            finished = await self.bucket.head(keys.data)
            if finished is not None:  # completed; a crash came before the info was rewritten
                length = finished.size if resource.length is None else resource.length
                return resource.model_copy(update={"offset": length, "length": length}), None
            if resource.is_final:
                return resource.model_copy(update={"offset": 0}), None
            await self.raise_missing(keys)
        tail = await self.bucket.head(keys.part) if resource.length != 0 else None
        held = held_of(upload, parts, tail)
        if resource.length is not None and held.offset >= resource.length:
            return await self._complete_held(resource, held), None
        return resource.model_copy(update={"offset": held.offset}), held

    async def _complete_held(self, resource: Resource, held: Held) -> Resource:
        """S3 holds every byte but the object was never completed (a crash just before):
        complete it now, so that HEAD never says finished without the object (two servers
        doing this at once are fine: the later one finds the object)."""
        assert resource.length is not None
        sizing = Sizing(MIN_PART, resource.length)
        keys = self.keys(resource.id)
        starter = MultipartStarter(self, resource)
        await append(
            self.bucket, keys, held, nothing(), length=resource.length, sizing=sizing, start=starter
        )
        finished = starter.resource.model_copy(update={"offset": resource.length})
        await self.write_info(finished)
        return finished

    async def scan(self) -> list[Resource]:
        """Every readable upload under the prefix (uploads removed meanwhile are skipped)."""
        ids = [
            k[len(self.prefix) : -len(".info")]
            for k in await self.bucket.keys(self.prefix, ".info")
        ]
        gate = asyncio.Semaphore(_SCAN_AT_ONCE)

        async def one(upload_id: str) -> Resource | None:
            async with gate:
                try:
                    return await self.read_info(self.keys(upload_id), upload_id)
                except (NotFound, Gone, ServerError):
                    return None

        found = await asyncio.gather(*(one(i) for i in ids if "/" not in i))
        return [r for r in found if r is not None]


class MultipartStarter:
    """Starts an upload's multipart upload when its first part needs one, and records it in
    the info object before any part is sent (so the parts are found after a crash);
    :attr:`resource` is the upload as its info object now says."""

    __slots__ = ("_infos", "resource")

    def __init__(self, infos: Infos, resource: Resource) -> None:
        self._infos = infos
        self.resource = resource

    async def __call__(self) -> str:
        keys = self._infos.keys(self.resource.id)
        upload = await self._infos.bucket.start_multipart(keys.data)
        storage = {**self.resource.storage, MULTIPART: upload}
        self.resource = self.resource.model_copy(update={"storage": storage})
        await self._infos.write_info(self.resource)
        return upload
