"""The raising API: :class:`Client`, one session for many uploads.

A caller's ``aiohttp.ClientSession`` (auth, default headers, proxies) is used and never
closed; without one the client opens its own and closes it in :meth:`Client.aclose` (or at
the end of ``async with``). Failures raise the typed errors of
:mod:`tuskit_client.exceptions`.
"""

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self

import aiohttp
from yarl import URL

from tuskit_client._commands import Remember
from tuskit_client._draft_fields import LATEST
from tuskit_client._draft_steps import DraftWire
from tuskit_client._engine import Engine
from tuskit_client._http import Http
from tuskit_client._parallel import part_store, upload_joined, upload_split
from tuskit_client._plan import check_arguments, choose_endpoint, plan_upload
from tuskit_client._progress import Progress
from tuskit_client._requests import Requests
from tuskit_client._results import UploadResult
from tuskit_client._resume import JSONFileStore, StoredUpload, URLStore, fingerprint
from tuskit_client._sources import Source, SourceLike, open_source
from tuskit_client._types import (
    DEFAULT_CHUNK_SIZE,
    Metadata,
    ProgressCallback,
    RetryConfiguration,
    client_config,
)
from tuskit_client._wire import choose_protocol
from tuskit_client.exceptions import CapabilityError
from tuskit_common import Extension, ServerCapabilities, encode_metadata

#: Timeouts of a session the client opens itself: no total cap, 30 s to connect, 120 s
#: without a byte of the answer.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)


class Client(Requests):
    """A tus client bound to an endpoint, a session, retry settings and a URL store.

    Args:
        endpoint: the creation URL (may be omitted when only existing uploads are used).
        session: an ``aiohttp.ClientSession`` to use; never closed by the client.
        headers: extra headers for every request (the tus headers win on a clash).
        config: retry policy and the ``ssl`` argument for every request.
        chunk_size: bytes per PATCH; None sends the rest of a seekable source of known
            size in one streamed PATCH.
        store: a :class:`URLStore`, or a path for a :class:`JSONFileStore`, enabling resume
            across runs; None keeps nothing.
        timeout: an ``aiohttp.ClientTimeout`` for every request; by default a caller's
            session keeps its own, and an owned one uses :data:`DEFAULT_TIMEOUT`.
        override_method: send PATCH and DELETE as POST with ``X-HTTP-Method-Override``.
        request_id: add a random ``X-Request-ID`` to every request.
        stall_timeout: abort and retry a PATCH (or POST with data) when nothing has moved
            for this many seconds; None (the default) relies on the session's timeouts.
        protocol: ``"tus"`` (tus 1.0.0, the default), ``"ietf-draft"`` (the IETF
            resumable-upload draft at ``draft_version``) or ``"auto"`` (the draft when the
            server's OPTIONS answer announces it, else tus 1.0.0).
        draft_version: the draft's interop version, 3 to 8 (8, the newest, by default).
        sleep / now / random: injectable delay, clock and jitter source (tests).
    """

    def __init__(
        self,
        endpoint: str | URL | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        headers: Mapping[str, str] | None = None,
        config: RetryConfiguration | None = None,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        store: URLStore | str | os.PathLike[str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        override_method: bool = False,
        request_id: bool = False,
        stall_timeout: float | None = None,
        protocol: str = "tus",
        draft_version: int = LATEST,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        now: Callable[[], datetime] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        self.config = client_config(config, chunk_size)
        self.endpoint = None if endpoint is None else URL(endpoint)
        self.chunk_size = chunk_size
        self.headers = dict(headers or {})
        self.store: URLStore | None = (
            JSONFileStore(store) if isinstance(store, str | os.PathLike) else store
        )
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout
        self._override_method = override_method
        self._request_id = request_id
        self._stall_timeout = stall_timeout
        self._hooks = (sleep, now, random)
        self.protocol = choose_protocol(protocol)
        self.draft_version = DraftWire(draft_version).version  # checked before any I/O
        self._engine: Engine | None = None

    async def __aenter__(self) -> Self:
        self._get_engine()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if the client opened it; a caller's session stays open."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
            self._engine = None

    def _get_engine(self) -> Engine:
        if self._engine is None:
            if self._session is None:
                # No total limit: a big streamed PATCH may take hours. A server that stops
                # answering is still caught by the connect and read timeouts.
                self._session = aiohttp.ClientSession(timeout=DEFAULT_TIMEOUT)
            sleep, now, random = self._hooks
            http = Http(
                self._session,
                ssl=self.config.ssl,
                timeout=self._timeout,
                override_method=self._override_method,
                request_id=self._request_id,
                stall_timeout=self._stall_timeout,
            )
            self._engine = Engine(
                http,
                self.config,
                headers=self.headers,
                chunk_size=self.chunk_size,
                sleep=sleep,
                now=now,
                random=random,
                protocol=self.protocol,
                draft_version=self.draft_version,
            )
        return self._engine

    def _endpoint(self, endpoint: str | URL | None) -> URL:
        return choose_endpoint(endpoint, self.endpoint)

    async def find_previous(
        self, source: SourceLike, *, key: str | None = None, endpoint: str | URL | None = None
    ) -> StoredUpload | None:
        """The stored entry a later :meth:`upload` of ``source`` would resume, if any
        (tus-js-client ``findPreviousUploads``). Opens and fingerprints the source only."""
        if self.store is None:
            return None
        opened = await open_source(source)
        try:
            fp = await fingerprint(opened, str(self._endpoint(endpoint)), key=key)
        finally:
            await opened.aclose()
        return None if fp is None else await self.store.load(fp)

    # -- uploads ----------------------------------------------------------------------

    async def upload(
        self,
        source: SourceLike,
        *,
        metadata: Metadata | None = None,
        endpoint: str | URL | None = None,
        url: str | URL | None = None,
        resume: bool = True,
        key: str | None = None,
        size: int | None = None,
        checksum: str | None = None,
        parallel: int = 1,
        boundaries: Sequence[tuple[int, int]] | None = None,
        part_metadata: Metadata | None = None,
        progress: ProgressCallback | None = None,
        remove_on_success: bool = False,
    ) -> UploadResult:
        """Upload ``source`` and return where it went; raises on failure.

        Args:
            source: a path, bytes, a sync binary file (stdin works: its length is deferred),
                or an async iterable of bytes.
            metadata: ``Upload-Metadata`` values as bytes (None: key-only).
            endpoint: the creation URL, overriding the client's.
            url: an existing upload to continue; a 404/410 falls back to a new upload when an
                endpoint is known.
            resume: look the source's fingerprint up in the store and continue that upload.
            key: fingerprint a source by this key instead of its path (needed for streams).
            size: the size of a stream, when known (then no deferred length).
            checksum: an algorithm the server advertises (``"sha256"``): every chunk carries
                ``Upload-Checksum``; a 460 re-sends it.
            parallel: split into this many partial uploads joined by concatenation; falls back
                to one upload when the server lacks concatenation or the source is a stream.
            boundaries: explicit ``(start, end)`` byte ranges for the parts instead of an even
                split; they must cover the source contiguously (implies ``parallel``).
            part_metadata: metadata for each partial upload of a parallel upload (``metadata``
                goes on the final one).
            progress: called with (sent, acknowledged, total) bytes.
            remove_on_success: drop the stored entry once the upload is complete.
        """
        metadata_header = encode_metadata(metadata) if metadata else None
        part_header = encode_metadata(part_metadata) if part_metadata else None
        if boundaries is not None:
            parallel = len(boundaries)
        if parallel < 1:
            raise ValueError("parallel must be >= 1")
        check_arguments(
            checksum=checksum,
            chunk_size=self.chunk_size,
            has_endpoint=url is not None or endpoint is not None or self.endpoint is not None,
        )
        opened = await open_source(source, size=size)
        try:
            if self.chunk_size is None and (opened.size is None or not opened.seekable):
                raise ValueError("a stream needs a chunk size (it is also its resend buffer)")
            return await self._upload(
                opened,
                metadata_header=metadata_header,
                endpoint=None
                if url is not None and endpoint is None and self.endpoint is None
                else self._endpoint(endpoint),
                url=None if url is None else URL(url),
                resume=resume,
                key=key,
                checksum=checksum,
                parallel=parallel,
                boundaries=boundaries,
                part_metadata_header=part_header,
                progress=Progress(progress, opened.size),
                remove_on_success=remove_on_success,
            )
        finally:
            await opened.aclose()

    async def _upload(
        self,
        source: Source,
        *,
        metadata_header: str | None,
        endpoint: URL | None,
        url: URL | None,
        resume: bool,
        key: str | None,
        checksum: str | None,
        parallel: int,
        boundaries: Sequence[tuple[int, int]] | None,
        part_metadata_header: str | None,
        progress: Progress,
        remove_on_success: bool,
    ) -> UploadResult:
        """Look the source up in the store, then run the upload flow with the store and
        the parallel parts as its effects."""
        engine = self._get_engine()
        store = self.store
        fp = None
        if store is not None:
            fp = await fingerprint(source, str(endpoint or url), key=key)
        stored = await store.load(fp) if store is not None and fp and resume else None
        plan = plan_upload(
            endpoint,
            size=source.size,
            seekable=source.seekable,
            progress=progress,
            url=url,
            stored=stored,
            resumable=store is not None and fp is not None,
            metadata_header=metadata_header,
            checksum=checksum,
            parallel=parallel,
            remove_on_success=remove_on_success,
        )

        async def remember(command: Remember) -> None:
            if store is not None and fp is not None:
                entry = StoredUpload(
                    str(command.location), command.size, (), datetime.now(UTC).isoformat()
                )
                await store.save(fp, entry)

        async def forget() -> None:
            if store is not None and fp is not None:
                await store.remove(fp)

        async def save(entry: StoredUpload) -> None:
            if store is not None and fp is not None:
                await store.save(fp, entry)

        async def split() -> UploadResult:
            assert endpoint is not None
            return await upload_split(
                engine,
                endpoint,
                source,
                parts=max(parallel, len(stored.parts) if stored else 0),
                boundaries=boundaries,
                metadata_header=metadata_header,
                checksum=checksum,
                progress=progress,
                stored=stored,
                save=save if plan.resumable else None,
                part_metadata_header=part_metadata_header,
            )

        flow = engine.flow.upload(plan)
        return await engine.run(flow, source, remember=remember, forget=forget, split=split)

    async def _capabilities(self, endpoint: URL) -> ServerCapabilities | None:
        """OPTIONS, or None when the server does not answer it usefully."""
        engine = self._get_engine()
        return await engine.run(engine.flow.capabilities(endpoint))

    async def upload_many(
        self,
        sources: Iterable[SourceLike],
        *,
        metadata: Metadata | None = None,
        endpoint: str | URL | None = None,
        parallel_uploads: int = 3,
        progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Upload several sources as partial uploads and concatenate them, in order, into
        one final upload that carries ``metadata`` (aiotus ``upload_multiple``).

        With a store, each part is saved under its source's fingerprint as soon as it exists,
        so a later call with the same sources continues the parts instead of restarting.

        Raises:
            CapabilityError: the server does not offer concatenation.
        """
        metadata_header = encode_metadata(metadata) if metadata else None
        if parallel_uploads < 1:
            raise ValueError("parallel_uploads must be >= 1")
        target = self._endpoint(endpoint)
        caps = await self._capabilities(target)
        if caps is None or not caps.supports(Extension.CONCATENATION):
            raise CapabilityError("the server does not offer the concatenation extension")
        opened: list[Source] = []
        try:
            for item in sources:
                source = await open_source(item)
                opened.append(source)
                if source.size is None:
                    raise ValueError("upload_many needs sources of known size")
            total = sum(s.size or 0 for s in opened)
            known, created = await part_store(self.store, opened, target)
            return await upload_joined(
                self._get_engine(),
                target,
                opened,
                metadata_header=metadata_header,
                parallel_uploads=parallel_uploads,
                progress=Progress(progress, total),
                known=known,
                on_created=created,
            )
        finally:
            for source in opened:
                await source.aclose()
