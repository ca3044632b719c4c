"""tuskit_server: a complete tus 1.0.0 server as an aiohttp.web plugin.

Design: :func:`setup_tus` registers one view per tus URL; each HTTP method has a thin
handler (:mod:`tuskit_server.handlers`) over the pure rules of :mod:`tuskit_server._rules`.
Storage is a core :class:`~tuskit_server.stores.base.DataStore` plus optional capability
protocols probed once (:class:`StoreComposer`), locks come from a :class:`Locker`, lifecycle
callbacks from :class:`Hooks`. :class:`FileStore` (default) and :class:`MemoryStore` ship.

Usage::

    app = web.Application()
    setup_tus(app, upload_path=Path("uploads"))
"""

from tuskit_common import Resource
from tuskit_server._app import create_app, serve
from tuskit_server._config import (
    Cors,
    Decorator,
    Expiration,
    FileNames,
    Handler,
    OnUploadDone,
    TusConfig,
)
from tuskit_server._quotas import Limits
from tuskit_server._setup import TUS_CONFIG_KEY, get_tus, setup_tus
from tuskit_server._version import __version__
from tuskit_server.errors import FileExists, HookRejected, UploadExists, UploadInterrupted
from tuskit_server.file_hooks import FileHooks
from tuskit_server.health import Health
from tuskit_server.hooks import CreateChanges, Hooks
from tuskit_server.http_hooks import HttpHooks
from tuskit_server.locks import FileLocker, Lock, Locker, MemoryLocker
from tuskit_server.stores.base import DataStore, StoreComposer
from tuskit_server.stores.file import FileStore
from tuskit_server.stores.memory import MemoryStore

__all__ = [
    "TUS_CONFIG_KEY",
    "Cors",
    "CreateChanges",
    "DataStore",
    "Decorator",
    "Expiration",
    "FileExists",
    "FileHooks",
    "FileLocker",
    "FileNames",
    "FileStore",
    "Handler",
    "Health",
    "HookRejected",
    "Hooks",
    "HttpHooks",
    "Limits",
    "Lock",
    "Locker",
    "MemoryLocker",
    "MemoryStore",
    "OnUploadDone",
    "Resource",
    "StoreComposer",
    "TusConfig",
    "UploadExists",
    "UploadInterrupted",
    "__version__",
    "create_app",
    "get_tus",
    "serve",
    "setup_tus",
]
