"""DELETE ``<upload>``: termination (spec §3.7)."""

from aiohttp import web

from tuskit_common import Forbidden, headers
from tuskit_server import _rules
from tuskit_server._endpoint import Endpoint
from tuskit_server.handlers import draft
from tuskit_server.handlers._shared import load, upload_id
from tuskit_server.hooks import call_hook
from tuskit_server.log import logger

__all__ = ["delete"]


async def delete(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """204 (MUST); afterwards 410 while the tombstone lasts, then 404 (SHOULD).

    A running PATCH is interrupted first (digest §3.7). 403 when ``pre_terminate`` vetoes,
    when finished uploads are protected, or for a partial a pending final still needs.
    """
    if draft.draft_of(endpoint, request) is None:  # the draft's cancellation is the same
        _rules.check_version(request.headers.get(headers.TUS_RESUMABLE))
    upload = upload_id(request)
    composer = await endpoint.store(request)
    terminator = composer.terminator
    if terminator is None:  # the route only exists with termination; defensive
        raise Forbidden("termination is not supported")
    hooks = endpoint.config.hooks
    async with endpoint.locked(upload) as fence:
        resource = await load(endpoint, composer, upload)
        if endpoint.config.protect_finished and resource.is_complete:
            raise Forbidden("finished uploads cannot be terminated", code="finished")
        if resource.is_partial and await endpoint.finals_waiting_for(composer, upload):
            raise Forbidden(
                "a pending final upload still needs this partial upload", code="partial_in_use"
            )
        if await call_hook("pre_terminate", hooks.pre_terminate, request, resource) is False:
            raise Forbidden("termination was refused", code="termination_refused")
        fence.check()  # the hook may have taken long: a lapsed lease deletes nothing (503)
        await terminator.terminate(upload)
        for partial_id in resource.partial_ids:
            waiting = endpoint.pending_finals.get(partial_id)
            if waiting is not None:
                waiting.discard(upload)
                if not waiting:
                    del endpoint.pending_finals[partial_id]
    logger.info("upload %s terminated", upload)
    if endpoint.metrics is not None:
        endpoint.metrics.terminated.inc()
    await call_hook("post_terminate", hooks.post_terminate, request, resource)
    return web.Response(status=204)
