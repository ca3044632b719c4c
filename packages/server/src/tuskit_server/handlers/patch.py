"""PATCH ``<upload>``: append the body at the current offset (spec §1.2 PATCH)."""

from aiohttp import web

from tuskit_common import headers
from tuskit_common.values import format_uint
from tuskit_server import _rules
from tuskit_server._endpoint import Endpoint
from tuskit_server.handlers import draft
from tuskit_server.handlers._shared import (
    build_waiting_finals,
    locked_for_body,
    new_reader,
    plan_patch,
    precheck_append,
    receive,
)

__all__ = ["patch"]


async def patch(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """204 with the new Upload-Offset (MUST) and Upload-Expires (spec §3.4 MUST).

    412 version, 415 media type, 400 bad headers, 404/410 unknown or gone, 403 final upload,
    409 offset mismatch (with the current offset), 413 too long, 460 checksum mismatch,
    423 lock busy, 503 lock service unreachable or lease lapsed (what arrived before is kept);
    a newer request interrupts this one (400) after its bytes are stored.
    """
    version = draft.draft_of(endpoint, request)
    if version is not None:
        return await draft.append(endpoint, request, version)
    checked = precheck_append(endpoint, request)
    composer = await endpoint.store(request)
    reader = new_reader(endpoint, request, checked.checksum)
    async with locked_for_body(endpoint, checked.upload_id, reader):
        resource, plan = await plan_patch(endpoint, request, composer, checked)
        was_complete = resource.is_complete
        if plan.declare_length is not None and composer.deferrer is not None:
            resource = await composer.deferrer.declare_length(resource.id, plan.declare_length)
        if resource.is_complete and not request.body_exists and plan.declare_length is None:
            updated = resource  # already complete, empty body: 204, hooks not re-run
        else:
            reader.limit = plan.max_bytes
            updated = await receive(
                endpoint, request, composer, resource, reader, was_complete=was_complete
            )
    if updated.is_partial and updated.is_complete:
        await build_waiting_finals(endpoint, request, composer, updated.id)
    result = {headers.UPLOAD_OFFSET: format_uint(updated.offset)}
    result.update(_rules.expires_headers(updated, now=endpoint.now()))
    return web.Response(status=204, headers=result)
