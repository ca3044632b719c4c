"""Stores: the protocols (:mod:`tuskit_server.stores.base`) and the built-in stores."""

from tuskit_server.stores.base import StoreComposer
from tuskit_server.stores.file import FileStore
from tuskit_server.stores.memory import MemoryStore

__all__ = ["FileStore", "MemoryStore", "StoreComposer"]
