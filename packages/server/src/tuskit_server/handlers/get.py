"""GET ``<upload>``: download a finished upload (digest §4.8; not part of tus)."""

from aiohttp import hdrs, web

from tuskit_common import NotFound, Resource
from tuskit_server import _sanitise
from tuskit_server._endpoint import Endpoint
from tuskit_server.handlers._ranges import Unsatisfiable, plan_range
from tuskit_server.handlers._shared import load, upload_id
from tuskit_server.stores.base import RangeStreamer

__all__ = ["get"]


async def get(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """The bytes through ``web.FileResponse`` (Range 206/416, conditional requests, off the
    loop), or streamed from a store without local files (one Range, 206/416), with
    Content-Type from a valid ``filetype``, a sanitised Content-Disposition and
    ``X-Content-Type-Options: nosniff``. Exempt from Tus-Resumable (browsers cannot add it).
    Unfinished or unknown uploads: 404; gone: 410. Takes no lock (tusd#1356)."""
    upload = upload_id(request)
    composer = await endpoint.store(request)
    downloader = composer.downloader
    if downloader is None and composer.streamer is None:
        raise NotFound("downloads are not available")
    resource = await load(endpoint, composer, upload)
    if not resource.is_complete:
        raise NotFound("the upload is not finished", code="unfinished")
    if downloader is None:
        assert composer.streamer is not None
        return await _stream(request, composer.streamer, resource)
    path = await downloader.data_path(upload)
    return web.FileResponse(path, headers=_sanitise.download_headers(resource))


async def _stream(
    request: web.Request, streamer: RangeStreamer, resource: Resource
) -> web.StreamResponse:
    """The upload's bytes (or the one range asked for) streamed from the store."""
    length = resource.length or 0
    headers = {**_sanitise.download_headers(resource), hdrs.ACCEPT_RANGES: "bytes"}
    try:
        wanted = plan_range(request.headers.get(hdrs.RANGE), length)
    except Unsatisfiable:
        headers[hdrs.CONTENT_RANGE] = f"bytes */{length}"
        return web.Response(status=416, headers=headers)
    if wanted.partial:
        headers[hdrs.CONTENT_RANGE] = wanted.content_range()
    pieces = None
    first = b""
    if length and request.method != "HEAD":
        # the first piece before the status line, so that a missing object is a 404
        pieces = streamer.stream_range(resource.id, wanted.first, wanted.last)
        first = await anext(pieces, b"")
    response = web.StreamResponse(status=206 if wanted.partial else 200, headers=headers)
    response.content_length = wanted.size if length else 0
    await response.prepare(request)
    if pieces is not None:
        await response.write(first)
        async for piece in pieces:
            await response.write(piece)
    await response.write_eof()
    return response
