"""The IETF resumable-upload draft on tus URLs: creation, offset retrieval and append.

The tus handlers hand a request over here when :func:`draft_of` names a draft version; the
checks are in :mod:`tuskit_server._draft_rules`, the bodies go through the same
:func:`~tuskit_server.handlers._shared.receive` as tus PATCHes (kernel copy included), and
cancellation is the tus DELETE without its ``Tus-Resumable`` check.
"""

import functools
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from tuskit_common import (
    Extension,
    ExtensionUnavailable,
    Forbidden,
    ProtocolError,
    Resource,
    TooLarge,
    decode_metadata,
    headers,
)
from tuskit_common.ietf_draft import UPLOAD_DRAFT_INTEROP_VERSION, DraftVersion, UploadLimit
from tuskit_server import _draft_rules, _rules
from tuskit_server._endpoint import Endpoint
from tuskit_server._informational import send_upload_resumption_supported
from tuskit_server._responses import error_response
from tuskit_server.handlers._shared import (
    create_upload,
    finish,
    load,
    locked_for_body,
    new_reader,
    receive,
    upload_id,
)
from tuskit_server.stores.base import StoreComposer

__all__ = ["append", "create", "draft_of", "offset", "precheck"]


def draft_of(endpoint: Endpoint, request: web.Request) -> DraftVersion | None:
    """The draft version of ``request`` when the endpoint speaks the draft, else None."""
    if not endpoint.config.ietf_draft:
        return None
    return _draft_rules.draft_version(request.method, request.headers)


def _creation_plan(
    endpoint: Endpoint, request: web.Request, version: DraftVersion
) -> _draft_rules.DraftCreationPlan:
    """The body-free checks of a draft creation (also run for ``Expect: 100-continue``)."""
    if Extension.CREATION not in endpoint.extensions:
        raise ExtensionUnavailable("creation is not supported")
    plan = _draft_rules.plan_draft_creation(
        version,
        request.headers,
        content_length=_content_length(request),
        max_size=endpoint.config.max_size,
    )
    if plan.metadata_header is not None:
        decode_metadata(plan.metadata_header, max_size=endpoint.config.metadata_limit)
    if plan.length is None and Extension.CREATION_DEFER_LENGTH not in endpoint.extensions:
        raise ExtensionUnavailable(
            "this store needs the upload's length at creation: send Upload-Length",
            code="length_required",
        )
    return plan


async def _append_plan(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, version: DraftVersion
) -> tuple[Resource, _draft_rules.DraftAppendPlan]:
    """The stored upload and what this append may do to it (404/410, 403, 409, 400, 413)."""
    resource = await load(endpoint, composer, upload_id(request))
    if resource.is_final:
        raise Forbidden("a final upload cannot be appended to", code="patch_final")
    plan = _draft_rules.plan_draft_append(
        version,
        resource,
        request.headers,
        content_length=_content_length(request),
        has_body=request.body_exists,
        max_size=endpoint.config.max_size,
    )
    records_length = plan.declare_length is not None or plan.close_at_end
    if records_length and Extension.CREATION_DEFER_LENGTH not in endpoint.extensions:
        raise ExtensionUnavailable("this store cannot record a length after creation")
    return resource, plan


async def precheck(
    endpoint: Endpoint, request: web.Request, version: DraftVersion
) -> web.Response | None:
    """What ``Expect: 100-continue`` checks before the body of a draft creation or append;
    a 413 is answered here with its limits, other errors are raised."""
    try:
        if request.method == "POST":
            _creation_plan(endpoint, request, version)
        elif request.method == "PATCH":
            await _append_plan(endpoint, request, await endpoint.store(request), version)
    except TooLarge as exc:
        return limits_on_413(endpoint, version, exc)
    return None


def _limit(endpoint: Endpoint, resource: Resource | None) -> UploadLimit:
    """The limits of ``resource`` (of new uploads when None)."""
    return _draft_rules.upload_limit(
        resource, max_size=endpoint.config.max_size, now=endpoint.now()
    )


def limits_on_413(endpoint: Endpoint, version: DraftVersion, error: TooLarge) -> web.Response:
    """A 413 with the limits it broke (draft §upload-limit: a MUST)."""
    response = error_response(error, retry_after=endpoint.config.retry_after)
    response.headers.update(_draft_rules.limit_headers(version, _limit(endpoint, None)))
    return response


def _state(endpoint: Endpoint, version: DraftVersion, resource: Resource) -> dict[str, str]:
    return _draft_rules.state_headers(version, resource, _limit(endpoint, resource))


async def _complete(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, resource: Resource
) -> Resource:
    """After a request with ``Upload-Complete: ?1``: an upload whose length was never
    indicated ends where it stands; one that stops short of its length is inconsistent."""
    if resource.length is None:
        assert composer.deferrer is not None  # checked by the plan
        resource = await composer.deferrer.declare_length(resource.id, resource.offset)
        await finish(endpoint, request, composer, resource)
    elif resource.offset != resource.length:
        raise _draft_rules.InconsistentLength(
            f"the request completed the upload at {resource.offset} bytes,"
            f" but its length is {resource.length}"
        )
    return resource


def _content_length(request: web.Request) -> int | None:
    """The content's length: 0 without a body, None for a chunked one."""
    if not request.body_exists:
        return 0
    return _rules.parse_content_length(request.headers.get(headers.CONTENT_LENGTH))


DraftHandler = Callable[[Endpoint, web.Request, DraftVersion], Awaitable[web.Response]]


def _answering_413(handler: DraftHandler) -> DraftHandler:
    """``handler`` with a 413 answered with the limits it broke."""

    @functools.wraps(handler)
    async def wrapped(
        endpoint: Endpoint, request: web.Request, version: DraftVersion
    ) -> web.Response:
        try:
            return await handler(endpoint, request, version)
        except TooLarge as exc:
            return limits_on_413(endpoint, version, exc)

    return wrapped


@_answering_413
async def create(endpoint: Endpoint, request: web.Request, version: DraftVersion) -> web.Response:
    """201 with Location and the upload's state; a ``104`` names the upload first."""
    plan = _creation_plan(endpoint, request, version)
    composer = await endpoint.store(request)
    quota = endpoint.quota
    if quota is not None:
        quota.check(request.remote or "", plan.length, time.monotonic())
    resource = Resource(
        id=endpoint.new_id(),
        length=plan.length,
        metadata_header=plan.metadata_header,
        created_at=endpoint.now(),
        expires_at=endpoint.expires_at(),
    )
    resource, location = await create_upload(endpoint, request, composer, resource)
    announced = {headers.LOCATION: location, UPLOAD_DRAFT_INTEROP_VERSION: str(version.interop)}
    announced.update(_draft_rules.limit_headers(version, _limit(endpoint, resource)))
    await send_upload_resumption_supported(request, announced)
    if request.body_exists:
        reader = new_reader(endpoint, request, None)
        reader.limit = resource.length if resource.length is not None else endpoint.config.max_size
        try:
            async with locked_for_body(endpoint, resource.id, reader):
                resource = await receive(
                    endpoint, request, composer, resource, reader, was_complete=resource.is_complete
                )
                if plan.complete:
                    resource = await _complete(endpoint, request, composer, resource)
        except ProtocolError as exc:
            response = error_response(exc, retry_after=endpoint.config.retry_after)
            response.headers[headers.LOCATION] = location  # resumable from what arrived
            return response
    elif resource.is_complete:
        await finish(endpoint, request, composer, resource)  # an empty representation
    elif plan.complete:
        resource = await _complete(endpoint, request, composer, resource)
    return web.Response(
        status=201, headers={headers.LOCATION: location, **_state(endpoint, version, resource)}
    )


async def offset(endpoint: Endpoint, request: web.Request, version: DraftVersion) -> web.Response:
    """204 with the offset, completeness, length and limits; ``Cache-Control: no-store``."""
    upload = upload_id(request)
    composer = await endpoint.store(request)
    async with endpoint.locked(upload):
        resource = await load(endpoint, composer, upload)
    result = _state(endpoint, version, resource)
    result[headers.CACHE_CONTROL] = headers.NO_STORE
    return web.Response(status=204, headers=result)


@_answering_413
async def append(endpoint: Endpoint, request: web.Request, version: DraftVersion) -> web.Response:
    """204 with the new state; 409/400 problems for a wrong offset or a completed upload."""
    composer = await endpoint.store(request)
    reader = new_reader(endpoint, request, None)
    async with locked_for_body(endpoint, upload_id(request), reader):
        resource, plan = await _append_plan(endpoint, request, composer, version)
        was_complete = resource.is_complete
        if plan.declare_length is not None:
            assert composer.deferrer is not None  # checked by the plan
            resource = await composer.deferrer.declare_length(resource.id, plan.declare_length)
        if request.body_exists:
            reader.limit = plan.max_bytes
            resource = await receive(
                endpoint, request, composer, resource, reader, was_complete=was_complete
            )
        elif resource.is_complete and not was_complete:
            await finish(endpoint, request, composer, resource)
        if plan.complete:
            resource = await _complete(endpoint, request, composer, resource)
    return web.Response(status=204, headers=_state(endpoint, version, resource))
