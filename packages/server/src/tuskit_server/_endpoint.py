"""The live state of one ``setup_tus``: stores, locker, in-flight bodies, the clock.

One :class:`Endpoint` per upload URL. It resolves the store of a request (a fixed ``store``,
or a :class:`FileStore` per formatted ``upload_path`` for named URLs, rooted in its ``.tus``
subdirectory with named files), holds locks, tracks the PATCH bodies being read (so shutdown
can stop them), builds absolute ``Location`` URLs and remembers which pending final uploads
wait for which partials.
"""

import asyncio
import contextlib
import glob
import inspect
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from aiohttp import web

from tuskit_common import (
    Extension,
    NotFound,
    ProtocolError,
    Resource,
    ServiceUnavailable,
    headers,
)
from tuskit_server._body import BodyReader
from tuskit_server._config import TusConfig
from tuskit_server._kernel_copy.splice import TransferSlots
from tuskit_server._paths import FIELD, has_fields
from tuskit_server._quotas import Quota
from tuskit_server._sanitise import external_origin
from tuskit_server.locks import Fence, Locker, MemoryLocker, hold
from tuskit_server.stores.base import StoreComposer, UsageReporter
from tuskit_server.stores.file import FileStore

__all__ = ["Endpoint"]

#: With named files, the store's own files live in this hidden directory of the upload
#: directory, apart from the finished files (whose names never start with a dot).
STORE_DIR = ".tus"
_ID_BYTES = 16
_IDS_PER_DRAW = 256


class _RandomIds:
    """Unguessable upload ids, 128 bits each from ``os.urandom`` (as ``secrets`` uses),
    drawn 256 at a time: one system call per 256 uploads instead of one per upload."""

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0

    def __call__(self) -> str:
        if self._next >= len(self._pool):
            self._pool = os.urandom(_ID_BYTES * _IDS_PER_DRAW)
            self._next = 0
        start, self._next = self._next, self._next + _ID_BYTES
        return self._pool[start : self._next].hex()


class Endpoint:
    """Runtime of one upload URL."""

    def __init__(self, config: TusConfig) -> None:
        self.config = config
        self._random_id = _RandomIds()
        self.locker: Locker = config.locker or MemoryLocker()
        self.metrics = config.metrics
        self.readers: set[BodyReader] = set()
        #: bodies (``request.content``) whose socket a worker thread took: their
        #: connection closes after the response
        self._taken: set[object] = set()
        #: how many bodies may be poured at once (each holds a thread while it lasts)
        self.splice_slots = TransferSlots(config.splice_threads)
        self.shutting_down = False
        self._drained: asyncio.Event | None = None
        #: partial id -> ids of final uploads created before it finished
        self.pending_finals: dict[str, set[str]] = {}
        self._fixed: StoreComposer | None = None
        self._template: str | None = None
        #: finished uploads are moved to ``<upload directory>/<filename or id>``
        self.placing = config.store is None and config.file_names == "name"
        if config.store is not None:
            self._fixed = StoreComposer.from_store(config.store)
            probe = self._fixed
            self._probe = probe
        else:
            if config.upload_path is None:
                raise ValueError("setup_tus needs upload_path or store")
            if has_fields(config.upload_path):
                self._template = str(config.upload_path)
            else:
                root = self._root(config.upload_path)
                self._fixed = StoreComposer.from_store(self._file_store(root))
            probe = self._fixed or StoreComposer.from_store(self._file_store(Path(".")))
        self._probe = probe
        self.extensions = probe.extensions(
            wanted=config.extensions,
            expiration=config.expiration is not None,
            checksum=bool(config.checksum_algorithms),
        )
        self.algorithms = (
            config.checksum_algorithms if Extension.CHECKSUM in self.extensions else ()
        )
        self.can_download = config.download and (
            probe.downloader is not None or probe.streamer is not None
        )
        self.quota = Quota(config.limits) if config.limits is not None else None
        counted = config.limits is not None and config.limits.counts_store
        if counted and not isinstance(probe.core, UsageReporter):
            raise ValueError("limits on stored bytes or uploads need a store that counts them")

    def _file_store(self, path: Path) -> FileStore:
        kwargs = {}
        if self.config.json_dumps is not None:
            kwargs["json_dumps"] = self.config.json_dumps
        if self.config.json_loads is not None:
            kwargs["json_loads"] = self.config.json_loads
        expiration = self.config.expiration
        return FileStore(
            path,
            clock=self.config.clock,
            expire_recovered_after=expiration.after if expiration is not None else None,
            **kwargs,  # type: ignore[arg-type]
        )

    # -- stores ------------------------------------------------------------------------------

    def _root(self, directory: Path) -> Path:
        """The FileStore root of an upload directory."""
        return directory / STORE_DIR if self.placing else directory

    def _bind(self, path: Path) -> StoreComposer:
        """A FileStore for one formatted ``upload_path``, with the capabilities probed at
        setup (every FileStore has the same; style §4.8: never probe per request)."""
        store = self._file_store(path)
        return StoreComposer(
            core=store,
            staged=store if self._probe.staged is not None else None,
            deferrer=store if self._probe.deferrer is not None else None,
            terminator=store if self._probe.terminator is not None else None,
            concatenator=store if self._probe.concatenator is not None else None,
            expirer=store if self._probe.expirer is not None else None,
            downloader=store if self._probe.downloader is not None else None,
            placer=store if self._probe.placer is not None else None,
        )

    async def stores(self) -> list[StoreComposer]:
        """Every store of this endpoint: the fixed one, or one per existing directory that
        matches a named ``upload_path`` (for the sweeper and start-up recovery)."""
        if self._fixed is not None:
            return [self._fixed]
        assert self._template is not None
        parts = FIELD.split(self._template)
        pattern = "*".join(glob.escape(p) for p in parts[::2])

        def existing() -> list[Path]:
            roots = (self._root(Path(p)) for p in glob.glob(pattern))
            return sorted(root for root in roots if root.is_dir())

        return [self._bind(root) for root in await asyncio.to_thread(existing)]

    async def store(self, request: web.Request) -> StoreComposer:
        """The store serving ``request`` (named URLs: ``upload_path`` formatted, §aiohttp-tus).

        Nothing is created on disk for a request that does not create an upload, so URLs with
        made-up names cannot litter the upload directory.

        Raises:
            NotFound: a match_info value that could escape the directory (``..``, ``.``).
        """
        if self._fixed is not None:
            return self._fixed
        return self._bind(self._root(self.directory(request)))

    def directory(self, request: web.Request) -> Path:
        """The upload directory of ``request``: ``upload_path``, formatted for named URLs.

        Raises:
            NotFound: no ``upload_path``, or a match_info value that could escape it.
        """
        try:
            return self.config.resolve_upload_path(request.match_info)
        except ValueError:
            raise NotFound("no such upload") from None

    async def open(self) -> None:
        """Open every store (creates the directory, repairs what a crash left) and rebuild
        the index of finals waiting for partials."""
        for composer in await self.stores():
            await composer.core.open()
            if composer.concatenator is not None:
                for final in await composer.concatenator.pending_finals():
                    self.wait_for_partials(final)
        if self.quota is not None and self.quota.limits.counts_store:
            await self.quota.recount(await self._reporters())
            self.quota.start(self._reporters)

    async def _reporters(self) -> list[UsageReporter]:
        return [c.core for c in await self.stores() if isinstance(c.core, UsageReporter)]

    def wait_for_partials(self, final: Resource) -> None:
        """Remember that ``final`` is built once its partials finish."""
        for partial_id in final.partial_ids:
            self.pending_finals.setdefault(partial_id, set()).add(final.id)

    async def finals_waiting_for(self, composer: StoreComposer, partial_id: str) -> set[str]:
        """The final uploads waiting for ``partial_id``: those this process remembers, and
        those a shared store knows of (created through another server on it)."""
        waiting = set(self.pending_finals.get(partial_id, ()))
        if composer.shared_finals is not None:
            waiting.update(await composer.shared_finals.finals_waiting_for(partial_id))
        return waiting

    async def close(self) -> None:
        """Close every store and a locker that keeps connections (a RedisLocker's, which
        reopens on next use), and end the idle transfer threads."""
        if self.quota is not None:
            await self.quota.stop()
        for composer in await self.stores():
            await composer.core.close()
        close_locker = getattr(self.locker, "close", None)
        if close_locker is not None and inspect.iscoroutinefunction(close_locker):
            await close_locker()
        self.splice_slots.threads.close()

    # -- time, ids, locks --------------------------------------------------------------------

    def now(self) -> datetime:
        """The current time from the configured clock."""
        return self.config.clock()

    def expires_at(self) -> datetime | None:
        """The expiry of an upload written now, or None when expiration is off; in whole
        seconds (Upload-Expires has no finer resolution), so the writes of one second leave
        it unchanged and the file store need not rewrite its info file for each."""
        if Extension.EXPIRATION not in self.extensions or self.config.expiration is None:
            return None
        return (self.now() + self.config.expiration.after).replace(microsecond=0)

    def new_id(self) -> str:
        """An unguessable id: 128 random bits (security §7)."""
        factory = self.config.id_factory
        return factory() if factory is not None else self._random_id()

    @asynccontextmanager
    async def locked(
        self,
        upload_id: str,
        on_release: Callable[[], None] = lambda: None,
        *,
        wait: float | None = None,
    ) -> AsyncIterator[Fence]:
        """Hold the upload's lock; a newer request calls ``on_release`` (digest §4.3).
        Waits ``lock_timeout`` at most, or ``wait`` when shorter. Yields the lock's
        :class:`Fence` (whether a lease is still held)."""
        limit = self.config.lock_timeout if wait is None else min(wait, self.config.lock_timeout)
        if self.metrics is not None:
            is_locked = getattr(self.locker, "is_locked", None)
            if is_locked is not None and is_locked(upload_id):
                self.metrics.lock_waits.inc()
        async with hold(self.locker, upload_id, wait=limit, on_release=on_release) as fence:
            yield fence

    @asynccontextmanager
    async def reading(self, reader: BodyReader) -> AsyncIterator[None]:
        """Track a body being read so that shutdown can stop it."""
        if self.shutting_down:
            raise ServiceUnavailable("the server is shutting down")
        self.readers.add(reader)
        try:
            yield
        finally:
            reader.close()
            self.readers.discard(reader)
            if not self.readers and self._drained is not None:
                self._drained.set()

    def take_socket(self, request: web.Request) -> None:
        """Remember that ``request``'s socket left aiohttp (see :mod:`_takeover`)."""
        self._taken.add(request.content)

    def socket_taken(self, request: web.Request) -> bool:
        """Whether ``request``'s socket was taken; forgets it (asked once, by the view)."""
        if request.content in self._taken:
            self._taken.discard(request.content)
            return True
        return False

    def stop_readers(self, reason: ProtocolError) -> None:
        """Stop every body being read (server shutdown: they persist and answer 503)."""
        self.shutting_down = True
        for reader in list(self.readers):
            reader.stop(reason)

    async def wait_readers(self, grace: float) -> None:
        """Give stopped readers up to ``grace`` seconds to persist and answer."""
        if not self.readers:
            return
        self._drained = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._drained.wait()

    # -- URLs --------------------------------------------------------------------------------

    def origin(self, request: web.Request) -> tuple[str, str]:
        """The scheme and host the client used (proxy headers only when trusted)."""
        if not self.config.behind_proxy:
            return request.scheme, request.host
        forwarded = request.forwarded[0] if request.forwarded else None
        return external_origin(
            scheme=request.scheme,
            host=request.host,
            forwarded=forwarded,
            forwarded_host=request.headers.get(headers.X_FORWARDED_HOST),
            forwarded_proto=request.headers.get(headers.X_FORWARDED_PROTO),
        )

    @staticmethod
    def collection_path(request: web.Request, *, on_upload: bool) -> str:
        """The raw path of the upload collection this request addressed."""
        path = request.rel_url.raw_path.rstrip("/")
        return path.rsplit("/", 1)[0] if on_upload else path

    def location(self, request: web.Request, upload_id: str) -> str:
        """The absolute URL of an upload created by this POST (spec §3.1, digest tuskit)."""
        scheme, host = self.origin(request)
        return f"{scheme}://{host}{self.collection_path(request, on_upload=False)}/{upload_id}"
