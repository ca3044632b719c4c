"""Named files (aiohttp-tus's layout): the creation-time name check and the move of a
finished upload to its name. Thin glue over :mod:`tuskit_server._naming` and the store's
:class:`~tuskit_server.stores.base.FilePlacer`."""

import os

from aiohttp import web

from tuskit_common import BadRequest, Resource
from tuskit_server._endpoint import Endpoint
from tuskit_server._naming import file_name_of
from tuskit_server.errors import FileExists
from tuskit_server.log import logger
from tuskit_server.stores._file_thread import FILE_THREAD
from tuskit_server.stores.base import StoreComposer

__all__ = ["check_name", "place"]


def _placed(endpoint: Endpoint, composer: StoreComposer, resource: Resource) -> bool:
    """Partial uploads are pieces of a final upload, never files of their own."""
    return endpoint.placing and composer.placer is not None and not resource.is_partial


async def check_name(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, resource: Resource
) -> None:
    """Before creation: the ``filename`` must be one plain name (400), and no file of that
    name may exist unless ``allow_overwrite_files`` (409)."""
    if not _placed(endpoint, composer, resource):
        return
    name = file_name_of(resource)
    if name is None or endpoint.config.allow_overwrite_files:
        return
    if await FILE_THREAD.run(os.path.lexists, endpoint.directory(request) / name):
        raise FileExists(f"a file named {name!r} exists already")


async def place(
    endpoint: Endpoint, request: web.Request, composer: StoreComposer, resource: Resource
) -> None:
    """Move a finished upload to ``<upload directory>/<filename or id>``; when that name was
    taken since its creation, or cannot be written, it stays under its id (logged)."""
    if not _placed(endpoint, composer, resource):
        return
    assert composer.placer is not None
    try:
        name = file_name_of(resource)
    except BadRequest:  # a name checked at creation cannot fail here; an edited info file can
        name = None
    target = endpoint.directory(request) / (name or resource.id)
    overwrite = name is not None and endpoint.config.allow_overwrite_files
    if not await composer.placer.place(resource.id, target, overwrite=overwrite):
        logger.warning("upload %s keeps its id: %s exists", resource.id, target.name)
