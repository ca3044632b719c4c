"""GET ``<upload>``: download a finished upload (digest §4.8; not part of tus)."""

from aiohttp import web

from tuskit_common import NotFound
from tuskit_server import _sanitise
from tuskit_server._endpoint import Endpoint
from tuskit_server.handlers._shared import load, upload_id

__all__ = ["get"]


async def get(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    """The bytes through ``web.FileResponse`` (Range 206/416, conditional requests, off the
    loop), with Content-Type from a valid ``filetype``, a sanitised Content-Disposition and
    ``X-Content-Type-Options: nosniff``. Exempt from Tus-Resumable (browsers cannot add it).
    Unfinished or unknown uploads: 404; gone: 410. Takes no lock (tusd#1356)."""
    upload = upload_id(request)
    composer = await endpoint.store(request)
    downloader = composer.downloader
    if downloader is None:
        raise NotFound("downloads are not available")
    resource = await load(endpoint, composer, upload)
    if not resource.is_complete:
        raise NotFound("the upload is not finished", code="unfinished")
    path = await downloader.data_path(upload)
    return web.FileResponse(path, headers=_sanitise.download_headers(resource))
