"""A :class:`~tuskit_server.stores.file.FileStore` upload as the target of a poured body
(:class:`~tuskit_server.stores.base.PourTarget`), apart so that file.py stays small."""

from datetime import datetime
from typing import TYPE_CHECKING

from tuskit_common import Resource
from tuskit_server.stores._files import WRITE

if TYPE_CHECKING:
    from tuskit_server.stores.file import FileStore

__all__ = ["PourInto"]


class PourInto:
    """A :class:`FileStore` upload as the target of a poured body (both methods run in the
    pouring thread): :meth:`open` is :meth:`FileStore._open_at` for positional writes,
    :meth:`finish` is :meth:`FileStore._settle`."""

    __slots__ = ("_expires_at", "_id", "_opened", "_store", "offset")

    def __init__(
        self, store: "FileStore", upload_id: str, offset: int, expires_at: datetime | None
    ) -> None:
        self._store = store
        self._id = upload_id
        self.offset = offset
        self._expires_at = expires_at
        self._opened: tuple[Resource, int] | None = None

    def open(self) -> int:
        self._opened = self._store._open_at(self._id, self.offset, False, WRITE)
        return self._opened[1]

    def finish(self, fd: int) -> Resource:
        opened = self._opened
        assert opened is not None
        assert opened[1] == fd
        return self._store._settle(self._id, self.offset, opened, [], True, self._expires_at)
