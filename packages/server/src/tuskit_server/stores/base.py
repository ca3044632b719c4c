"""The store protocols: one core :class:`DataStore` plus one small protocol per capability.

Design (tusd's composer, style §4.8): a store implements :class:`DataStore` and any of the
capability protocols below. :meth:`StoreComposer.from_store` probes them once, at setup; the
handlers then only ever see the composer, so ``Tus-Extension`` and the routes follow from
what the store can really do. A store never imports aiohttp and never builds responses: it
raises :class:`tuskit_common.NotFound` / :class:`tuskit_common.Gone` /
:class:`tuskit_server.errors.UploadExists` (or any other ``ProtocolError``), and the server
maps them in one place.

Callers hold the upload's lock (:mod:`tuskit_server.locks`) around every call that changes an
upload, so stores need no locking of their own across requests. A body arrives as an async
iterable of bounded ``bytes`` pieces that ends early (without raising) when the client goes
away: a store persists every piece it was given, then returns.

A store whose uploads are local files may also be a :class:`PourReceiver`: the PATCH
handler can then pour a large body into the upload's file from a worker thread (the kernel
moving the bytes from the socket) instead of handing it to :meth:`DataStore.write`. The
handler makes that choice; a store without the capability always gets the body read in
Python, and the store never sees how the body arrives.

An object store (:class:`~tuskit_server.stores.s3.S3Store`) implements the same methods
(``write`` streaming parts, ``write_staged`` holding the chunk aside until ``accept()``) and
offers downloads through :class:`RangeStreamer` instead of :class:`FileDownloader`.
"""

from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from tuskit_common import Extension, Resource

__all__ = [
    "Concatenator",
    "DataStore",
    "Expirer",
    "FileDownloader",
    "FilePlacer",
    "LengthDeferrer",
    "PourReceiver",
    "PourTarget",
    "RangeStreamer",
    "SharedFinals",
    "StagedWriter",
    "StoreComposer",
    "Terminator",
    "Usage",
    "UsageReporter",
    "usage_of",
]


@runtime_checkable
class DataStore(Protocol):
    """The core every store implements: creation and appending (tus core + creation)."""

    async def open(self) -> None:
        """Prepare the store (create directories, connect); called from ``cleanup_ctx``."""

    async def close(self) -> None:
        """Release what :meth:`open` acquired."""

    async def create(self, resource: Resource) -> Resource:
        """Record a new, empty upload. Raises ``UploadExists`` for a taken id."""

    async def get(self, upload_id: str) -> Resource:
        """Return the upload with ``offset`` = bytes really stored.

        Raises:
            NotFound: no such upload. Gone: terminated or expired, still remembered.
        """

    async def write(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        expires_at: datetime | None,
    ) -> Resource:
        """Append every piece of ``body`` at ``offset`` and persist it, even when ``body``
        ends early; record ``expires_at``; return the updated upload."""


class PourTarget(Protocol):
    """One upload's file, opened for a poured body. Both methods run in the transfer thread,
    one after the other around the transfer, so a large chunk costs no other thread hop."""

    @property
    def offset(self) -> int:
        """Where the body's first byte goes."""

    def open(self) -> int:
        """The file to write (positional writes, not append mode). May raise (an offset
        that no longer matches): then no byte is written."""

    def finish(self, fd: int) -> Resource:
        """Close ``fd`` and record what was written; called once :meth:`open` succeeded,
        also after a transfer that ended early or failed. Returns the updated upload."""


@runtime_checkable
class PourReceiver(Protocol):
    """kernel copy: a store that can take a body written straight into the upload's file
    (a store that cannot, e.g. one streaming to object storage, simply lacks this)."""

    def pour_target(
        self, upload_id: str, offset: int, *, expires_at: datetime | None
    ) -> PourTarget:
        """A target for the body appended at ``offset``; nothing is touched until its
        :meth:`PourTarget.open`. Same outcome as :meth:`DataStore.write` for the same bytes."""


@runtime_checkable
class StagedWriter(Protocol):
    """checksum: append a chunk that is kept only if ``accept()`` says so once it is in."""

    async def write_staged(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        accept: Callable[[], bool],
        expires_at: datetime | None,
    ) -> Resource:
        """Like :meth:`DataStore.write`, but when ``accept()`` returns False after the body
        ended, the upload is left exactly as before (offset unchanged), even across a crash."""


@runtime_checkable
class LengthDeferrer(Protocol):
    """creation-defer-length: record the length once the client knows it."""

    async def declare_length(self, upload_id: str, length: int) -> Resource:
        """Set the length of an upload created with ``Upload-Defer-Length: 1``."""


@runtime_checkable
class Terminator(Protocol):
    """termination: free an upload; later requests get :class:`tuskit_common.Gone`."""

    async def terminate(self, upload_id: str) -> None:
        """Delete the upload's data and info, keeping a tombstone."""


@runtime_checkable
class Concatenator(Protocol):
    """concatenation: build a final upload from finished partial uploads, in order."""

    async def concatenate(self, final_id: str, partial_ids: Sequence[str]) -> Resource:
        """Fill the final upload with the partials' bytes; returns it complete."""

    async def pending_finals(self) -> list[Resource]:
        """Final uploads not concatenated yet (concatenation-unfinished), so that the
        server can rebuild its partial -> finals index after a restart."""


@runtime_checkable
class SharedFinals(Protocol):
    """concatenation-unfinished with several servers on one store: the store itself knows
    which final uploads wait for a partial, so a partial finished (or deleted) through one
    server sees the finals created through another."""

    async def finals_waiting_for(self, partial_id: str) -> list[str]:
        """Ids of unfinished final uploads that list ``partial_id``."""


@runtime_checkable
class Expirer(Protocol):
    """expiration: find and remove unfinished uploads whose ``expires_at`` has passed."""

    async def expired(self, now: datetime) -> list[str]:
        """Ids of unfinished uploads with ``expires_at <= now``."""

    async def expire(self, upload_id: str) -> None:
        """Remove an expired upload, keeping a tombstone (answers Gone)."""

    async def forget(self, before: datetime) -> int:
        """Drop tombstones made before ``before`` (they then answer NotFound); returns how
        many were dropped."""


@runtime_checkable
class FileDownloader(Protocol):
    """download: a local file path for a finished upload (served with ``web.FileResponse``)."""

    async def data_path(self, upload_id: str) -> Path:
        """The path of the upload's bytes."""


@runtime_checkable
class RangeStreamer(Protocol):
    """download without a local file: a finished upload's bytes streamed from the store, one
    byte range at a time (the GET handler answers Range requests with it)."""

    def stream_range(self, upload_id: str, first: int, last: int) -> AsyncIterator[bytes]:
        """Bytes ``first..last`` (inclusive, ``last < length``) of a finished upload."""


@runtime_checkable
class FilePlacer(Protocol):
    """named files (aiohttp-tus): move a finished upload's bytes to a file of its own name."""

    async def place(self, upload_id: str, target: Path, *, overwrite: bool) -> bool:
        """Move the finished upload's bytes to ``target``; later :meth:`FileDownloader.data_path`
        calls answer ``target``. False (nothing moved) when ``target`` exists and
        ``overwrite`` is False, or cannot be replaced."""


@dataclass(frozen=True, slots=True)
class Usage:
    """What a store holds: bytes reserved (each upload's length, or its offset while the
    length is deferred) and unfinished uploads (for the server's quotas)."""

    reserved_bytes: int
    unfinished: int


def usage_of(uploads: Callable[[], Iterable[Resource]]) -> Usage:
    """The :class:`Usage` of ``uploads()`` (blocking: run it in a thread)."""
    reserved = unfinished = 0
    for upload in uploads():
        reserved += upload.length if upload.length is not None else upload.offset
        unfinished += not upload.is_complete
    return Usage(reserved, unfinished)


@runtime_checkable
class UsageReporter(Protocol):
    """A store that can count what it holds (a scan: called every few seconds at most)."""

    async def usage(self) -> Usage:
        """The store's :class:`Usage` now."""


@dataclass(frozen=True, slots=True)
class StoreComposer:
    """A store and the capabilities it was found to have, probed once (tusd ``UseIn``)."""

    core: DataStore
    staged: StagedWriter | None = None
    deferrer: LengthDeferrer | None = None
    terminator: Terminator | None = None
    concatenator: Concatenator | None = None
    shared_finals: SharedFinals | None = None
    expirer: Expirer | None = None
    downloader: FileDownloader | None = None
    streamer: RangeStreamer | None = None
    placer: FilePlacer | None = None
    pour_receiver: PourReceiver | None = None

    @classmethod
    def from_store(cls, store: object) -> "StoreComposer":
        """Probe ``store`` for each protocol.

        Raises:
            TypeError: ``store`` does not implement :class:`DataStore`.
        """
        if not isinstance(store, DataStore):
            raise TypeError(f"{type(store).__name__} does not implement the DataStore protocol")
        return cls(
            core=store,
            staged=store if isinstance(store, StagedWriter) else None,
            deferrer=store if isinstance(store, LengthDeferrer) else None,
            terminator=store if isinstance(store, Terminator) else None,
            concatenator=store if isinstance(store, Concatenator) else None,
            shared_finals=store if isinstance(store, SharedFinals) else None,
            expirer=store if isinstance(store, Expirer) else None,
            downloader=store if isinstance(store, FileDownloader) else None,
            streamer=store if isinstance(store, RangeStreamer) else None,
            placer=store if isinstance(store, FilePlacer) else None,
            pour_receiver=store if isinstance(store, PourReceiver) else None,
        )

    def extensions(
        self,
        *,
        wanted: Collection[Extension] | None = None,
        expiration: bool = True,
        checksum: bool = True,
    ) -> frozenset[Extension]:
        """The extensions to advertise: what the store can do, minus what is switched off.

        ``checksum-trailer`` is never offered: aiohttp exposes no request trailers
        (aio-libs/aiohttp#1652), so a trailer digest could not be read (spec §3.6).
        """
        able = {Extension.CREATION, Extension.CREATION_WITH_UPLOAD}
        if self.deferrer is not None:
            able.add(Extension.CREATION_DEFER_LENGTH)
        if self.expirer is not None and expiration:
            able.add(Extension.EXPIRATION)
        if self.staged is not None and checksum:
            able.add(Extension.CHECKSUM)
        if self.terminator is not None:
            able.add(Extension.TERMINATION)
        if self.concatenator is not None:
            able.update({Extension.CONCATENATION, Extension.CONCATENATION_UNFINISHED})
        if wanted is not None:
            able &= set(wanted)
        if Extension.CREATION not in able:
            able -= {Extension.CREATION_WITH_UPLOAD, Extension.CREATION_DEFER_LENGTH}
        if Extension.CONCATENATION not in able:
            able.discard(Extension.CONCATENATION_UNFINISHED)
        return frozenset(able)
