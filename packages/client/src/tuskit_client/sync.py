"""A blocking tus client: the upload flow of :class:`tuskit_client.Client`, driven over
``http.client`` with no event loop and no thread (what tuspy's users have).

    from tuskit_client import sync

    url = sync.upload("https://tus.example/files/", "video.mp4", {"filename": b"video.mp4"})
    with sync.Client("https://tus.example/files/", store="uploads.json") as client:
        result = client.upload("video.mp4", progress=lambda sent, acked, total: None)

Every decision - creation with the first chunk, the chunk loop, retries, resuming - is the
one ``_flow`` makes for the async client; this module only carries out its commands. It
uploads paths, bytes and seekable binary files. The async client's extras (parallel parts,
streams of unknown length, stall detection, redirects, proxies) are not here.
"""

import os
import random as _random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Final, Self, TypeVar

from yarl import URL

from tuskit_client import _commands as commands
from tuskit_client import _steps
from tuskit_client._blocking import BlockingHttp, BlockingSource, Pieces
from tuskit_client._draft_fields import LATEST
from tuskit_client._flow import UploadFlow
from tuskit_client._plan import check_arguments, choose_endpoint, plan_upload
from tuskit_client._progress import Progress
from tuskit_client._results import UploadInfo, UploadResult
from tuskit_client._resume import (
    FINGERPRINT_BYTES,
    JSONFileStore,
    StoredUpload,
    SyncURLStore,
    fingerprint_of,
)
from tuskit_client._sources import PIECE, SourceLike
from tuskit_client._types import (
    DEFAULT_CHUNK_SIZE,
    Metadata,
    ProgressCallback,
    RetryConfiguration,
    client_config,
)
from tuskit_client.log import logger
from tuskit_common import ServerCapabilities, encode_metadata

__all__ = ["Client", "delete", "metadata", "upload"]

T = TypeVar("T")

#: Seconds a socket may wait to connect or for the next bytes of an answer.
DEFAULT_TIMEOUT: Final = 120.0


class Client:
    """A blocking tus client bound to an endpoint, retry settings and a URL store.

    Args:
        endpoint: the creation URL (may be omitted when only existing uploads are used).
        headers: extra headers for every request (the tus headers win on a clash).
        config: retry policy and the ``ssl`` argument (True, False or an
            ``ssl.SSLContext``; a fingerprint pin is the async client's alone).
        chunk_size: bytes per PATCH; None sends the rest in one PATCH.
        store: a :class:`~tuskit_client.MemoryStore`, a :class:`~tuskit_client.JSONFileStore`
            or a path for one, enabling resume across runs; None keeps nothing.
        timeout: seconds a socket may wait to connect or for the next bytes of an answer.
        override_method: send PATCH and DELETE as POST with ``X-HTTP-Method-Override``.
        protocol / draft_version: tus 1.0.0, the IETF draft or ``auto``, as for
            :class:`tuskit_client.Client`.
        sleep / now / random: injectable delay, clock and jitter source (tests).
    """

    def __init__(
        self,
        endpoint: str | URL | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        config: RetryConfiguration | None = None,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        store: SyncURLStore | str | os.PathLike[str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        override_method: bool = False,
        protocol: str = "tus",
        draft_version: int = LATEST,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        config = client_config(config, chunk_size)
        self._http = BlockingHttp(ssl=config.ssl, timeout=timeout, override_method=override_method)
        self.config, self.chunk_size = config, chunk_size
        self.endpoint = None if endpoint is None else URL(endpoint)
        self.store = JSONFileStore(store) if isinstance(store, str | os.PathLike) else store
        self._sleep = time.sleep if sleep is None else sleep
        self._now = _utcnow if now is None else now
        self.flow = UploadFlow(
            self.config,
            headers=headers,
            chunk_size=chunk_size,
            now=self._now,
            random=_random.random if random is None else random,
            protocol=protocol,
            draft_version=draft_version,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept connections."""
        self._http.close()

    def _endpoint(self, endpoint: str | URL | None) -> URL:
        return choose_endpoint(endpoint, self.endpoint)

    # -- the driver -----------------------------------------------------------------------

    def _run(
        self,
        flow: commands.Flow[T],
        source: BlockingSource | None = None,
        fingerprint: str | None = None,
    ) -> T:
        """Carry out ``flow``'s commands until it returns; its failures come out raised."""
        turns = commands.Turns(flow)
        for command in turns:
            turns.settle(partial(self._carry_out, command, source, fingerprint))
        return turns.result

    def _carry_out(
        self, command: commands.Command, source: BlockingSource | None, fingerprint: str | None
    ) -> commands.Answer:
        if isinstance(command, commands.Send):
            return self._http.send(command.head, self._body(command.body, source))
        if isinstance(command, commands.Read):
            assert source is not None
            read = source.read_exact if command.exact else source.read
            return read(command.position, command.size)
        if isinstance(command, commands.Sleep):
            self._sleep(command.seconds)
        elif self.store is not None and fingerprint is not None:
            if isinstance(command, commands.Remember):
                entry = StoredUpload(
                    str(command.location), command.size, (), self._now().isoformat()
                )
                self.store.save_sync(fingerprint, entry)
            elif isinstance(command, commands.Forget):
                self.store.remove_sync(fingerprint)
        return None

    def _body(self, body: commands.Body | None, source: BlockingSource | None) -> Pieces | None:
        if body is None:
            return None
        if isinstance(body, commands.Memory):
            data, at = body.data, body.offset
            pieces: Callable[[], Iterable[bytes | memoryview]] = partial(_slices, data)
        else:
            assert source is not None
            at, pieces = body.offset, partial(source.pieces, body.start, body.end)
        progress, part = body.progress, body.part
        return partial(_reported, pieces, at, progress, part) if progress else pieces

    # -- calls ----------------------------------------------------------------------------

    def upload(
        self,
        source: SourceLike,
        *,
        metadata: Metadata | None = None,
        checksum: str | None = None,
        progress: ProgressCallback | None = None,
        endpoint: str | URL | None = None,
        url: str | URL | None = None,
        resume: bool = True,
        key: str | None = None,
        remove_on_success: bool = False,
    ) -> UploadResult:
        """Upload ``source`` and return where it went; raises the client's errors.

        The arguments mean what they mean for :meth:`tuskit_client.Client.upload`.
        """
        metadata_header = encode_metadata(metadata) if metadata else None
        has_endpoint = url is not None or endpoint is not None or self.endpoint is not None
        check_arguments(checksum=checksum, chunk_size=self.chunk_size, has_endpoint=has_endpoint)
        target = None if endpoint is None and self.endpoint is None else self._endpoint(endpoint)
        opened = BlockingSource(source)
        try:
            fp = stored = None
            if self.store is not None:
                head, _ = opened.read(0, min(FINGERPRINT_BYTES, opened.size))
                where = str(target or url)
                fp = fingerprint_of(where, key=key, path=opened.path, size=opened.size, head=head)
                stored = self.store.load_sync(fp) if fp and resume else None
            flow = self.flow.upload(
                plan_upload(
                    target,
                    size=opened.size,
                    seekable=True,
                    progress=Progress(progress, opened.size),
                    url=None if url is None else URL(url),
                    stored=stored,
                    resumable=fp is not None,
                    metadata_header=metadata_header,
                    checksum=checksum,
                    remove_on_success=remove_on_success,
                    concurrent=False,
                )
            )
            return self._run(flow, opened, fp)
        finally:
            opened.close()

    def create(
        self,
        source: SourceLike,
        *,
        metadata: Metadata | None = None,
        endpoint: str | URL | None = None,
    ) -> URL:
        """POST only: a new upload as long as ``source``, no data sent."""
        metadata_header = encode_metadata(metadata) if metadata else None
        opened = BlockingSource(source)
        opened.close()
        flow = self.flow.create(
            self._endpoint(endpoint), length=opened.size, metadata_header=metadata_header
        )
        return self._run(flow).location

    def options(self, endpoint: str | URL | None = None) -> ServerCapabilities:
        """OPTIONS: the server's versions, extensions, max size and checksum algorithms."""
        return self._run(self.flow.options(self._endpoint(endpoint)))

    def info(self, url: str | URL) -> UploadInfo:
        """HEAD an upload: offset, length, ``Upload-Expires`` and decoded metadata."""
        status = self._run(self.flow.status(URL(url)))
        decoded = _steps.read_metadata(status)
        return UploadInfo(
            status.url, status.offset, status.length, status.expires, decoded, status.concat_header
        )

    def metadata(self, url: str | URL) -> dict[str, bytes | None]:
        """The metadata of an upload; the answer needs no ``Upload-Offset``."""
        head = _steps.offset_request(URL(url), self.flow.headers)
        return self._run(self.flow.request(head, _steps.read_head_metadata))

    def delete(self, url: str | URL) -> None:
        """Terminate an upload (termination extension); raises UploadNotFound if unknown."""
        self._run(self.flow.delete(URL(url)))
        logger.info("terminated upload %s", url)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _slices(data: bytes) -> Iterable[memoryview]:
    view = memoryview(data)
    return (view[index : index + PIECE] for index in range(0, len(view), PIECE))


def _reported(
    pieces: Callable[[], Iterable[bytes | memoryview]], offset: int, progress: Progress, part: int
) -> Iterable[bytes | memoryview]:
    """``pieces``, telling ``progress`` how far the body got after each one."""
    for piece in pieces():
        yield piece
        offset += len(piece)
        progress.sent(part, offset)


def upload(
    endpoint: str | URL,
    file: SourceLike,
    metadata: Metadata | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    config: RetryConfiguration | None = None,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    store: SyncURLStore | str | os.PathLike[str] | None = None,
    checksum: str | None = None,
    progress: ProgressCallback | None = None,
) -> URL:
    """Upload ``file`` to ``endpoint`` (resuming through ``store`` when given); its URL.

    Raises:
        TusClientError: the upload failed once the retries were spent.
    """
    with Client(
        endpoint, headers=headers, config=config, chunk_size=chunk_size, store=store
    ) as client:
        return client.upload(file, metadata=metadata, checksum=checksum, progress=progress).url


def metadata(
    url: str | URL,
    *,
    headers: Mapping[str, str] | None = None,
    config: RetryConfiguration | None = None,
) -> dict[str, bytes | None]:
    """The metadata of the upload at ``url`` (bytes values, None for a key-only entry)."""
    with Client(headers=headers, config=config) as client:
        return client.metadata(url)


def delete(
    url: str | URL,
    *,
    headers: Mapping[str, str] | None = None,
    config: RetryConfiguration | None = None,
) -> None:
    """Terminate the upload at ``url``; raises UploadNotFound when it is unknown or gone."""
    with Client(headers=headers, config=config) as client:
        client.delete(url)
