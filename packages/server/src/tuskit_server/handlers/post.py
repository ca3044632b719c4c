"""POST on the collection: create an upload (spec §3.1-3.3, §3.8)."""

import time
from dataclasses import dataclass

from aiohttp import web

from tuskit_common import (
    Checksum,
    Extension,
    ExtensionUnavailable,
    Gone,
    NotFound,
    ProtocolError,
    Resource,
    headers,
)
from tuskit_common.values import format_uint
from tuskit_server import _concat_rules, _rules
from tuskit_server._endpoint import Endpoint
from tuskit_server._input_rules import CONTENT_ENCODING, check_content_coding, check_partial_list
from tuskit_server._responses import error_response
from tuskit_server.handlers import draft
from tuskit_server.handlers._shared import (
    bad_partial,
    build_waiting_finals,
    create_upload,
    finish,
    load,
    locked_for_body,
    new_reader,
    receive,
    try_concatenate,
)
from tuskit_server.log import logger
from tuskit_server.stores.base import StoreComposer

__all__ = ["CreationRequest", "post", "precheck_creation"]


@dataclass(frozen=True, slots=True)
class CreationRequest:
    """The body-free facts of a creation POST."""

    plan: _rules.CreationPlan
    has_body: bool
    checksum: Checksum | None


def precheck_creation(endpoint: Endpoint, request: web.Request) -> CreationRequest:
    """Version (412), extensions (501), headers (400), sizes (413), final with body (403)."""
    _rules.check_version(request.headers.get(headers.TUS_RESUMABLE))
    if Extension.CREATION not in endpoint.extensions:
        raise ExtensionUnavailable("creation is not supported")
    plan = _rules.plan_creation(
        request.headers,
        extensions=endpoint.extensions,
        max_size=endpoint.config.max_size,
        metadata_limit=endpoint.config.metadata_limit,
    )
    content_length = _rules.parse_content_length(request.headers.get(headers.CONTENT_LENGTH))
    # A body with another Content-Type is not tus data (digest §3.2: some stacks force one).
    has_body = request.body_exists and _rules.is_tus_body(request.headers.get(headers.CONTENT_TYPE))
    checksum = None
    if has_body:
        if Extension.CREATION_WITH_UPLOAD not in endpoint.extensions:
            raise ExtensionUnavailable("creation-with-upload is not supported")
        _rules.check_creation_body(plan, content_length)
        if not endpoint.config.accept_content_encoding:
            check_content_coding(request.headers.get(CONTENT_ENCODING))
        checksum = _rules.parse_checksum_header(
            request.headers.get(headers.UPLOAD_CHECKSUM), endpoint.algorithms
        )
    return CreationRequest(plan, has_body, checksum)


async def _partials(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, urls: tuple[str, ...]
) -> list[Resource]:
    """Resolve and load the partials of a final upload, never fetching a URL (§3.8, §7)."""
    collection = endpoint.collection_path(request, on_upload=False)
    ids = [
        _concat_rules.partial_id(url, request_url=str(request.url), collection_path=collection)
        for url in urls
    ]
    check_partial_list(ids, limit=endpoint.config.max_partials)
    partials: list[Resource] = []
    for url, partial in zip(urls, ids, strict=True):
        try:
            partials.append(await load(endpoint, composer, partial))
        except (NotFound, Gone) as exc:
            raise bad_partial(url, exc) from None
    _concat_rules.check_partials(
        partials, allow_unfinished=Extension.CONCATENATION_UNFINISHED in endpoint.extensions
    )
    return partials


async def post(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """201 with an absolute Location (spec §3.1 MUST), Upload-Expires when known, and
    Upload-Offset when the POST carried data (creation-with-upload)."""
    version = draft.draft_of(endpoint, request)
    if version is not None:
        return await draft.create(endpoint, request, version)
    checked = precheck_creation(endpoint, request)
    plan = checked.plan
    composer = await endpoint.store(request)
    is_final = plan.concat is not None and plan.concat.is_final
    partials: list[Resource] = []
    length = plan.length
    if plan.concat is not None and plan.concat.is_final:
        partials = await _partials(endpoint, request, composer, plan.concat.urls)
        length = _concat_rules.final_length(partials)
        if length is not None:
            _rules.check_size(length, endpoint.config.max_size)
    quota = endpoint.quota
    if quota is not None:
        quota.check(request.remote or "", length, time.monotonic())
    resource = Resource(
        id=endpoint.new_id(),
        length=length,
        metadata_header=plan.metadata_header,
        concat_header=plan.concat_header,
        is_partial=plan.concat is not None and plan.concat.is_partial,
        is_final=is_final,
        partial_ids=tuple(p.id for p in partials),
        created_at=endpoint.now(),
        expires_at=None if is_final else endpoint.expires_at(),
    )
    resource, location = await create_upload(endpoint, request, composer, resource)
    result = {headers.LOCATION: location}
    if checked.has_body:
        reader = new_reader(endpoint, request, checked.checksum)
        reader.limit = resource.length
        if resource.length is None and endpoint.config.max_size is not None:
            reader.limit = endpoint.config.max_size
        try:
            async with locked_for_body(endpoint, resource.id, reader):
                resource = await receive(
                    endpoint, request, composer, resource, reader, was_complete=resource.is_complete
                )
        except ProtocolError as exc:
            # The upload exists with what arrived; tell the client where (digest §3.2).
            await _after_failed_body(composer, resource, checked.checksum)
            response = error_response(exc, retry_after=endpoint.config.retry_after)
            if checked.checksum is None:
                response.headers[headers.LOCATION] = location
            return response
        result[headers.UPLOAD_OFFSET] = format_uint(resource.offset)
        if resource.is_partial and resource.is_complete:
            await build_waiting_finals(endpoint, request, composer, resource.id)
    elif resource.is_final:
        await _build_new_final(endpoint, request, composer, resource)
    elif resource.is_complete:
        await finish(endpoint, request, composer, resource)  # Upload-Length: 0 (spec §3.1)
    result.update(_rules.expires_headers(resource, now=endpoint.now()))
    return web.Response(status=201, headers=result)


async def _after_failed_body(
    composer: StoreComposer, resource: Resource, checksum: Checksum | None
) -> None:
    """With a checksum, a POST body that failed leaves nothing behind (digest §3.2)."""
    if checksum is None or composer.terminator is None:
        return
    try:
        await composer.terminator.terminate(resource.id)
    except ProtocolError:
        logger.warning("could not remove upload %s after a failed body", resource.id)


async def _build_new_final(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, final: Resource
) -> None:
    """Concatenate now when every partial is done, else remember what the final waits for."""
    async with endpoint.locked(final.id):
        final = await try_concatenate(endpoint, request, composer, final)
    if not final.is_complete:
        endpoint.wait_for_partials(final)
