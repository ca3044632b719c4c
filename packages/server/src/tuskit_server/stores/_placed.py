"""The named-files capability of :class:`~tuskit_server.stores.file.FileStore`, kept out of
``file.py`` (aiohttp-tus's layout).

A finished upload's bytes move from ``<root>/<id>`` to a file of its own name, and its info
file records where they went (storage ``"file"``, an absolute path): HEAD keeps answering
from the info file (the upload stays finished whatever happens to the file later), GET serves
the named file, and answers 404 once someone moved or deleted it.
"""

import errno
import os
from pathlib import Path
from typing import Protocol

from tuskit_common import NotFound, Resource
from tuskit_server.log import logger
from tuskit_server.stores._file_thread import FILE_THREAD

__all__ = ["PLACED", "PlacedFiles", "placed_path"]

#: The info file's storage key for where a placed upload's bytes are.
PLACED = "file"
#: Errors of a file system without hard links (then the bytes are renamed instead).
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})


class _Files(Protocol):
    """What the mixin uses of the store it is mixed into."""

    def _load(self, upload_id: str) -> Resource: ...

    def _data(self, upload_id: str) -> Path: ...

    def _write_info(self, resource: Resource) -> None: ...


def placed_path(resource: Resource) -> Path | None:
    """Where a placed upload's bytes are, or None while they are at ``<root>/<id>``."""
    value = resource.storage.get(PLACED)
    return Path(value) if isinstance(value, str) else None


class PlacedFiles:
    """Mixin: :class:`~tuskit_server.stores.base.FilePlacer` and
    :class:`~tuskit_server.stores.base.FileDownloader` over a store's files."""

    async def place(self: _Files, upload_id: str, target: Path, *, overwrite: bool) -> bool:
        """Move a finished upload's bytes to ``target`` (in the file thread: one link or
        rename on the same file system, and one info file)."""
        return await FILE_THREAD.run(_place, self, upload_id, target, overwrite)

    async def data_path(self: _Files, upload_id: str) -> Path:
        """The upload's bytes: ``<root>/<id>``, or the file they were placed in.

        Raises:
            NotFound: the placed file was moved away or deleted since.
        """
        return await FILE_THREAD.run(_data_path, self, upload_id)


def _data_path(store: _Files, upload_id: str) -> Path:
    placed = placed_path(store._load(upload_id))
    if placed is None:
        return store._data(upload_id)
    if not placed.is_file():
        raise NotFound("the finished file was moved away or deleted", code="file_moved")
    return placed


def _place(store: _Files, upload_id: str, target: Path, overwrite: bool) -> bool:
    resource = store._load(upload_id)
    placed = placed_path(resource)
    if placed is not None:
        return placed == target.absolute()
    source = store._data(upload_id)
    try:
        if not _link(source, target, overwrite=overwrite):
            return False
    except OSError as exc:
        logger.warning("upload %s keeps its id: %s cannot be written (%s)", upload_id, target, exc)
        return False
    storage = {**resource.storage, PLACED: str(target.absolute())}
    store._write_info(resource.model_copy(update={"storage": storage}))
    source.unlink(missing_ok=True)
    return True


def _link(source: Path, target: Path, *, overwrite: bool) -> bool:
    """Give ``target`` the bytes of ``source`` by a hard link, so that ``source`` stays until
    the info file records the move (a crash in between loses nothing); by a rename where the
    file system has no hard links. False: ``target`` exists and ``overwrite`` is False."""
    try:
        if not overwrite:
            os.link(source, target)
            return True
        staging = source.with_name(source.name + ".placing")
        staging.unlink(missing_ok=True)
        os.link(source, staging)
        try:
            os.replace(staging, target)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    if not overwrite and os.path.lexists(target):
        return False
    os.replace(source, target)
    return True
