"""HEAD ``<upload>``: the offset and what the upload was created with (spec §1.2 HEAD)."""

from aiohttp import web

from tuskit_common import headers
from tuskit_server import _rules
from tuskit_server._endpoint import Endpoint
from tuskit_server.handlers import draft
from tuskit_server.handlers._shared import load, try_concatenate, upload_id

__all__ = ["head"]


async def head(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """200 with Upload-Offset (even 0, even complete), Cache-Control: no-store (MUST),
    Upload-Length or Upload-Defer-Length: 1, Upload-Metadata / Upload-Concat verbatim, and
    Upload-Expires while the upload can expire. Unknown: 404; terminated/expired: 410.

    HEAD takes the upload's lock like tusd, so a stale PATCH is interrupted and the answer
    reflects everything it stored (digest §4.3). A final upload whose partials have all
    finished is concatenated here.
    """
    version = draft.draft_of(endpoint, request)
    if version is not None:
        return await draft.offset(endpoint, request, version)
    _rules.check_version(request.headers.get(headers.TUS_RESUMABLE))
    upload = upload_id(request)
    composer = await endpoint.store(request)
    async with endpoint.locked(upload):
        resource = await load(endpoint, composer, upload)
        if resource.is_final:
            resource = await try_concatenate(endpoint, request, composer, resource)
    return web.Response(status=200, headers=_rules.head_headers(resource, now=endpoint.now()))
