"""What several handlers share: loading an upload, receiving a body, finishing an upload.

Thin async glue between aiohttp, the store and :mod:`tuskit_server._rules`; the checks
themselves are in ``_rules``.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from tuskit_common import (
    BadRequest,
    Checksum,
    ChecksumMismatch,
    Gone,
    NotFound,
    ProtocolError,
    Resource,
    ServerError,
    encode_metadata,
    headers,
    new_hasher,
)
from tuskit_server import _rules
from tuskit_server._body import BodyReader
from tuskit_server._endpoint import Endpoint
from tuskit_server._framing import watch_framing
from tuskit_server._input_rules import CONTENT_ENCODING, check_content_coding
from tuskit_server._kernel_copy.pour import SocketPour
from tuskit_server.access_log import RECEIVED_KEY
from tuskit_server.errors import UploadInterrupted
from tuskit_server.handlers._placing import check_name, place
from tuskit_server.hooks import CreateChanges, call_hook
from tuskit_server.log import logger
from tuskit_server.stores.base import StoreComposer

__all__ = [
    "AppendRequest",
    "apply_changes",
    "bad_partial",
    "build_waiting_finals",
    "create_upload",
    "finish",
    "interrupt",
    "load",
    "locked_for_body",
    "new_reader",
    "plan_patch",
    "precheck_append",
    "receive",
    "try_concatenate",
    "upload_id",
]


def upload_id(request: web.Request) -> str:
    """The validated id in the URL (security §7: before any storage access)."""
    return _rules.check_id(request.match_info.get("id", ""))


async def load(endpoint: Endpoint, composer: StoreComposer, upload: str) -> Resource:
    """The stored upload; 410 when its expiry has passed even before the sweeper ran."""
    resource = await composer.core.get(upload)
    if _rules.is_expired(resource, endpoint.now()):
        raise Gone("the upload has expired")
    return resource


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """The body-free facts of a PATCH, checked before the body or the lock."""

    upload_id: str
    checksum: Checksum | None
    content_length: int | None


def precheck_append(endpoint: Endpoint, request: web.Request) -> AppendRequest:
    """Version (412), media type (415), id (404), header syntax (400) of a PATCH."""
    _rules.check_version(request.headers.get(headers.TUS_RESUMABLE))
    _rules.check_media_type(request.headers.get(headers.CONTENT_TYPE))
    if not endpoint.config.accept_content_encoding:
        check_content_coding(request.headers.get(CONTENT_ENCODING))
    upload = upload_id(request)
    _rules.parse_offset_header(request.headers.get(headers.UPLOAD_OFFSET))
    content_length = _rules.parse_content_length(request.headers.get(headers.CONTENT_LENGTH))
    checksum = _rules.parse_checksum_header(
        request.headers.get(headers.UPLOAD_CHECKSUM), endpoint.algorithms
    )
    return AppendRequest(upload, checksum, content_length)


async def plan_patch(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, checked: AppendRequest
) -> tuple[Resource, _rules.AppendPlan]:
    """The upload and what this PATCH may do to it (404/410, 403, 409, 413): the PATCH view
    asks under the lock, the ``Expect: 100-continue`` check before the body is sent."""
    resource = await load(endpoint, composer, checked.upload_id)
    plan = _rules.plan_append(
        resource,
        offset_header=request.headers.get(headers.UPLOAD_OFFSET),
        length_header=request.headers.get(headers.UPLOAD_LENGTH),
        content_length=checked.content_length,
        max_size=endpoint.config.max_size,
    )
    return resource, plan


def new_reader(endpoint: Endpoint, request: web.Request, checksum: Checksum | None) -> BodyReader:
    """A body reader for this request (limit set once the upload is loaded)."""
    config = endpoint.config
    return BodyReader(
        request.content,
        limit=0,
        read_size=config.read_size,
        idle_timeout=config.idle_timeout,
        hasher=new_hasher(checksum.algorithm) if checksum is not None else None,
        checksum=checksum,
        pour=(
            SocketPour(
                request,
                lambda: endpoint.take_socket(request),
                slots=endpoint.splice_slots,
                pour_min=config.splice_min,
                idle_timeout=config.idle_timeout,
            )
            if config.splice_min is not None
            else None
        ),
    )


@asynccontextmanager
async def locked_for_body(
    endpoint: Endpoint, upload: str, reader: BodyReader
) -> AsyncIterator[None]:
    """The upload's lock for a request that brings a body: a newer request interrupts the
    body once stale (:func:`interrupt`); a lapsed lease stops it at once (its fence)."""
    async with endpoint.locked(upload, lambda: interrupt(endpoint, reader)) as fence:
        reader.guard(fence)
        yield


def interrupt(endpoint: Endpoint, reader: BodyReader) -> None:
    """The lock's release callback: a newer request wants this upload (digest §4.3). It
    gets it once the body is stale (no byte for ``takeover_after`` seconds): a HEAD must
    not stall an upload that is still receiving data."""
    reader.take_over(
        UploadInterrupted("a newer request for this upload interrupted this one"),
        endpoint.config.takeover_after,
    )


async def receive(
    endpoint: Endpoint,
    request: web.Request,
    composer: StoreComposer,
    resource: Resource,
    reader: BodyReader,
    *,
    was_complete: bool,
) -> Resource:
    """Stream the body into the store under the caller's lock; finish the upload if done.

    The one place that chooses how a body reaches the store: a checksummed chunk is staged,
    a large plain body is poured into a store that offers :class:`PourReceiver` (the kernel
    copies it), any other is read in Python and handed to ``write``.

    Bytes are kept on every failure (spec §1.2 "store as much as possible"), except for a
    checksummed chunk, which is kept only when complete and matching (spec §3.5).

    Raises:
        ChecksumMismatch (460); the reader's error (400 interrupted, 413 too long, 500
        timeout or reset, 503 shutdown) after persisting.
    """
    offset = resource.offset
    checksum = reader.checksum
    expires_at = None if resource.is_final else endpoint.expires_at()
    verdicts: list[bool] = []
    with watch_framing(request):
        async with endpoint.reading(reader):
            if checksum is not None and composer.staged is not None:
                hasher = reader.hasher

                def accept() -> bool:
                    verdicts.append(
                        reader.complete
                        and hasher is not None
                        and hasher.digest() == checksum.digest
                    )
                    return verdicts[-1]

                updated = await composer.staged.write_staged(
                    resource.id, offset, reader, accept=accept, expires_at=expires_at
                )
            elif composer.pour_receiver is not None and await reader.pourable():
                target = composer.pour_receiver.pour_target(
                    resource.id, offset, expires_at=expires_at
                )
                updated = await reader.pour(target)
            else:
                updated = await composer.core.write(
                    resource.id, offset, reader, expires_at=expires_at
                )
    reader.check_fence()  # a lapsed lease: nothing more is committed (no hooks, no finish)
    updated = await _expire_from_last_byte(endpoint, composer, updated)
    logger.info(
        "upload %s: %d bytes received, offset %d -> %d",
        resource.id,
        reader.received,
        offset,
        updated.offset,
    )
    received = updated.offset - offset
    request[RECEIVED_KEY] = received
    if endpoint.metrics is not None:
        endpoint.metrics.bytes_received.inc(received)
    if updated.offset != offset:
        await call_hook("post_receive", endpoint.config.hooks.post_receive, request, updated)
    if updated.is_complete and not was_complete:
        reader.check_fence()  # again: the post_receive hook may have taken long
        await finish(endpoint, request, composer, updated)
    if reader.error is not None:
        raise reader.error
    if checksum is not None and not (verdicts and verdicts[-1]):
        raise ChecksumMismatch(f"the body does not match its {checksum.algorithm} checksum")
    return updated


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


async def _expire_from_last_byte(
    endpoint: Endpoint, composer: StoreComposer, updated: Resource
) -> Resource:
    """Expiry counts from the last byte received (digest §3.4): a body that took longer
    than its expiry's resolution gets the expiry of now, so an acknowledged chunk can never
    expire before its 204 is read. An empty write records it (no info rewrite otherwise)."""
    if updated.expires_at is None or updated.is_complete:
        return updated
    latest = endpoint.expires_at()
    if latest is None or latest <= updated.expires_at:
        return updated
    return await composer.core.write(updated.id, updated.offset, _nothing(), expires_at=latest)


async def finish(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, resource: Resource
) -> None:
    """Run pre_finish, move named files to their name, then post_finish and aiohttp-tus's
    on_upload_done (with that file's path), once per upload."""
    logger.info("upload %s complete (%s bytes)", resource.id, resource.length)
    if endpoint.metrics is not None:
        endpoint.metrics.finished.inc()
    hooks = endpoint.config.hooks
    await call_hook("pre_finish", hooks.pre_finish, request, resource)
    await place(endpoint, request, composer, resource)
    await call_hook("post_finish", hooks.post_finish, request, resource)
    done = endpoint.config.on_upload_done
    if done is not None:
        path = None
        if composer.downloader is not None:
            path = await composer.downloader.data_path(resource.id)
        try:
            await done(request, resource, path)
        except ProtocolError:
            raise
        except Exception as exc:
            logger.exception("on_upload_done failed for upload %s", resource.id)
            raise ServerError("the on_upload_done callback failed") from exc


async def try_concatenate(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, final: Resource
) -> Resource:
    """Build a final upload once all its partials are finished (digest §3.8), under the
    final's lock held by the caller; returns the final as it is now."""
    if final.is_complete or composer.concatenator is None:
        return final
    partials: list[Resource] = []
    for partial_id in final.partial_ids:
        try:
            partials.append(await composer.core.get(partial_id))
        except (NotFound, Gone):
            logger.warning("final upload %s lost its partial %s", final.id, partial_id)
            return final
    if not all(p.is_complete for p in partials):
        return final
    final = await composer.concatenator.concatenate(final.id, final.partial_ids)
    for partial_id in final.partial_ids:
        waiting = endpoint.pending_finals.get(partial_id)
        if waiting is not None:
            waiting.discard(final.id)
            if not waiting:
                del endpoint.pending_finals[partial_id]
    await finish(endpoint, request, composer, final)
    return final


async def build_waiting_finals(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, partial_id: str
) -> None:
    """After a partial finished: build the pending finals that waited for it
    (concatenation-unfinished). Failures are logged; HEAD on the final retries."""
    for final_id in sorted(await endpoint.finals_waiting_for(composer, partial_id)):
        try:
            async with endpoint.locked(final_id):
                final = await composer.core.get(final_id)
                await try_concatenate(endpoint, request, composer, final)
        except ProtocolError as exc:
            logger.warning("could not build final upload %s yet: %s", final_id, exc.message)


def bad_partial(url: str, error: ProtocolError) -> BadRequest:
    """A 400 naming the Upload-Concat URL that could not be used."""
    return BadRequest(
        f"Upload-Concat URL {url!r} is not usable: {error.message}", code="invalid_concat_url"
    )


def apply_changes(resource: Resource, changes: CreateChanges) -> Resource:
    """Apply a pre_create hook's changes, validating a new id like any other (§7)."""
    update: dict[str, object] = {}
    if changes.id is not None:
        if not _rules.ID_PATTERN.fullmatch(changes.id):
            raise ServerError("the pre_create hook returned an invalid upload id")
        update["id"] = changes.id
    if changes.metadata is not None:
        update["metadata_header"] = encode_metadata(changes.metadata) or None
    return resource.model_copy(update=update)


async def create_upload(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, resource: Resource
) -> tuple[Resource, str]:
    """Store a new upload as the pre_create hook leaves it (named files checked first),
    count it, run post_create; returns it with its absolute Location (tus and draft POST)."""
    changes = await call_hook("pre_create", endpoint.config.hooks.pre_create, request, resource)
    if changes is not None:
        resource = apply_changes(resource, changes)
    await check_name(endpoint, request, composer, resource)
    resource = await composer.core.create(resource)
    if endpoint.quota is not None:
        endpoint.quota.created(request.remote or "", resource.length, time.monotonic())
    logger.info("upload %s created (length %s)", resource.id, resource.length)
    if endpoint.metrics is not None:
        endpoint.metrics.created.inc()
    location = endpoint.location(request, resource.id)
    await call_hook("post_create", endpoint.config.hooks.post_create, request, resource)
    return resource, location
