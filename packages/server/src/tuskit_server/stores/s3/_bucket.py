"""One bucket (and key prefix) over an aiobotocore S3 client: the few S3 calls S3Store makes,
each translating S3's failures into the server's errors in one place.

A missing key answers None (never an exception the caller must decode); a failure of the
object storage (5xx, a reset, a timeout, refused credentials) raises
:class:`~tuskit_common.ServiceUnavailable` (503 with one readable line), so a PATCH that S3
failed is answered 5xx and the client resumes from the offset S3 really holds.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from tuskit_common import NotFound, ServiceUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

__all__ = ["Bucket", "Part", "Stored", "storage_errors"]

_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})
_READ_PIECE = 256 * 1024


@dataclass(frozen=True, slots=True)
class Part:
    """A committed part of a multipart upload."""

    number: int
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class Stored:
    """What a HEAD says of an object."""

    size: int
    modified: datetime
    meta: dict[str, str]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    """S3's several ways to say "no such key / upload"."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _code(exc) in _MISSING or status == 404


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Translate a failure of the object storage during ``what`` into a 503."""
    try:
        yield
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message") or _code(exc)
        raise ServiceUnavailable(
            f"the object storage failed to {what}: {message}", code="storage_unavailable"
        ) from exc
    except (BotoCoreError, aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise ServiceUnavailable(
            f"the object storage failed to {what}: {exc}", code="storage_unavailable"
        ) from exc


class Bucket:
    """The calls S3Store makes, on ``name`` through ``client`` (opened by the store)."""

    def __init__(self, client: "S3Client", name: str) -> None:
        self.client = client
        self.name = name

    async def read(self, key: str) -> bytes | None:
        """The whole object (small ones: infos, tombstones, tails), or None if missing."""
        with storage_errors(f"read {key}"):
            try:
                answer = await self.client.get_object(Bucket=self.name, Key=key)
            except ClientError as exc:
                if is_missing(exc):
                    return None
                raise
            stream = answer["Body"]
            try:
                return await stream.read()
            finally:
                stream.close()

    async def stream(self, key: str, first: int, last: int) -> AsyncIterator[bytes]:
        """Bytes ``first..last`` (inclusive) of an object, in bounded pieces.

        Raises:
            NotFound: the object is missing (removed behind the store's back).
        """
        with storage_errors(f"read {key}"):
            try:
                answer = await self.client.get_object(
                    Bucket=self.name, Key=key, Range=f"bytes={first}-{last}"
                )
            except ClientError as exc:
                if is_missing(exc):
                    raise NotFound(
                        "the finished object is missing", code="object_missing"
                    ) from None
                raise
        body = answer["Body"]
        try:
            while True:
                with storage_errors(f"read {key}"):
                    piece = await body.read(_READ_PIECE)
                if not piece:
                    return
                yield piece
        finally:
            body.close()

    async def head(self, key: str) -> Stored | None:
        """An object's size, modification time and metadata, or None if missing."""
        with storage_errors(f"look up {key}"):
            try:
                answer = await self.client.head_object(Bucket=self.name, Key=key)
            except ClientError as exc:
                if is_missing(exc):
                    return None
                raise
        return Stored(answer["ContentLength"], answer["LastModified"], answer.get("Metadata", {}))

    async def put(self, key: str, data: bytes, *, meta: dict[str, str] | None = None) -> None:
        """Write a whole object."""
        with storage_errors(f"write {key}"):
            await self.client.put_object(Bucket=self.name, Key=key, Body=data, Metadata=meta or {})

    async def put_new(self, key: str, data: bytes) -> bool:
        """Write an object only if the key is free (``If-None-Match: *``); False if taken."""
        with storage_errors(f"write {key}"):
            try:
                await self.client.put_object(Bucket=self.name, Key=key, Body=data, IfNoneMatch="*")
            except ClientError as exc:
                if _code(exc) in {"PreconditionFailed", "ConditionalRequestConflict"}:
                    return False
                raise
        return True

    async def delete(self, *keys: str) -> None:
        """Delete objects (missing ones are fine)."""
        for key in keys:
            with storage_errors(f"delete {key}"):
                await self.client.delete_object(Bucket=self.name, Key=key)

    async def keys(self, prefix: str, suffix: str) -> list[str]:
        """Every key under ``prefix`` ending in ``suffix`` (paginated listing)."""
        found: list[str] = []
        token: dict[str, Any] = {}
        while True:
            with storage_errors("list the bucket"):
                page = await self.client.list_objects_v2(Bucket=self.name, Prefix=prefix, **token)
            found.extend(
                item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(suffix)
            )
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    # -- multipart uploads -------------------------------------------------------------------

    async def start_multipart(self, key: str) -> str:
        """A new multipart upload for ``key``; returns its id."""
        with storage_errors(f"start the multipart upload of {key}"):
            answer = await self.client.create_multipart_upload(Bucket=self.name, Key=key)
        return answer["UploadId"]

    async def parts(self, key: str, upload: str) -> list[Part] | None:
        """The committed parts in order, or None when the multipart upload is gone
        (completed or aborted)."""
        found: list[Part] = []
        marker: dict[str, Any] = {}
        while True:
            with storage_errors(f"list the parts of {key}"):
                try:
                    page = await self.client.list_parts(
                        Bucket=self.name, Key=key, UploadId=upload, **marker
                    )
                except ClientError as exc:
                    if is_missing(exc):
                        return None
                    raise
            found.extend(Part(p["PartNumber"], p["Size"], p["ETag"]) for p in page.get("Parts", []))
            if not page.get("IsTruncated"):
                return sorted(found, key=lambda p: p.number)
            marker = {"PartNumberMarker": page["NextPartNumberMarker"]}

    async def upload_part(self, key: str, upload: str, number: int, data: bytes) -> Part:
        """Upload one part."""
        with storage_errors(f"upload part {number} of {key}"):
            answer = await self.client.upload_part(
                Bucket=self.name, Key=key, UploadId=upload, PartNumber=number, Body=data
            )
        return Part(number, len(data), answer["ETag"])

    async def copy_part(
        self, key: str, upload: str, number: int, source: str, first: int, last: int
    ) -> Part:
        """Fill part ``number`` server-side with bytes ``first..last`` of ``source``."""
        with storage_errors(f"copy {source} into part {number} of {key}"):
            answer = await self.client.upload_part_copy(
                Bucket=self.name,
                Key=key,
                UploadId=upload,
                PartNumber=number,
                CopySource={"Bucket": self.name, "Key": source},
                CopySourceRange=f"bytes={first}-{last}",
            )
        return Part(number, last - first + 1, answer["CopyPartResult"]["ETag"])

    async def complete(self, key: str, upload: str, parts: list[Part]) -> None:
        """Join the parts into the object ``key`` (a multipart upload completed meanwhile
        by another server is fine once its object is there)."""
        listed = [{"PartNumber": p.number, "ETag": p.etag} for p in parts]
        with storage_errors(f"complete {key}"):
            try:
                await self.client.complete_multipart_upload(
                    Bucket=self.name,
                    Key=key,
                    UploadId=upload,
                    MultipartUpload={"Parts": listed},  # type: ignore[typeddict-item]
                )
            except ClientError as exc:
                if not (is_missing(exc) and await self.head(key) is not None):
                    raise

    async def abort(self, key: str, upload: str) -> None:
        """Abort a multipart upload (one already gone is fine)."""
        with storage_errors(f"abort the multipart upload of {key}"):
            try:
                await self.client.abort_multipart_upload(Bucket=self.name, Key=key, UploadId=upload)
            except ClientError as exc:
                if not is_missing(exc):
                    raise
