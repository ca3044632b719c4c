"""The client's one-request calls - OPTIONS, HEAD, a POST without data, DELETE - as a base
of :class:`tuskit_client.Client`, which supplies the engine and the default endpoint."""

from abc import ABC, abstractmethod

from yarl import URL

from tuskit_client import _steps
from tuskit_client._engine import Engine
from tuskit_client._results import UploadInfo
from tuskit_client._sources import SourceLike, open_source
from tuskit_client._types import Metadata
from tuskit_client.log import logger
from tuskit_common import ServerCapabilities, encode_metadata


class Requests(ABC):
    """Single requests, each retried by the flow's policy."""

    @abstractmethod
    def _get_engine(self) -> Engine:
        """The engine every request goes through."""

    @abstractmethod
    def _endpoint(self, endpoint: str | URL | None) -> URL:
        """``endpoint``, or the client's when it is None."""

    async def options(self, endpoint: str | URL | None = None) -> ServerCapabilities:
        """OPTIONS: the server's versions, extensions, max size and checksum algorithms."""
        return await self._get_engine().options(self._endpoint(endpoint))

    async def info(self, url: str | URL) -> UploadInfo:
        """HEAD an upload: offset, length, ``Upload-Expires`` and decoded metadata."""
        status = await self._get_engine().status(URL(url))
        return UploadInfo(
            status.url,
            status.offset,
            status.length,
            status.expires,
            _steps.read_metadata(status),
            status.concat_header,
        )

    async def metadata(self, url: str | URL) -> dict[str, bytes | None]:
        """The metadata of an upload (values are bytes, None for a key-only entry); the
        answer needs no ``Upload-Offset`` (as in aiotus)."""
        engine = self._get_engine()
        head = _steps.offset_request(URL(url), engine.headers)
        return await engine.run(engine.flow.request(head, _steps.read_head_metadata))

    async def delete(self, url: str | URL) -> None:
        """Terminate an upload (termination extension); raises UploadNotFound if unknown."""
        await self._get_engine().delete(URL(url))
        logger.info("terminated upload %s", url)

    async def create(
        self,
        source: SourceLike,
        *,
        metadata: Metadata | None = None,
        endpoint: str | URL | None = None,
        size: int | None = None,
    ) -> URL:
        """POST only (tuspy ``create_url``): a new upload as long as ``source`` (deferred
        when its size is unknown), no data sent; ``upload(source, url=...)`` sends it."""
        metadata_header = encode_metadata(metadata) if metadata else None
        target = self._endpoint(endpoint)
        opened = await open_source(source, size=size)
        try:
            length = opened.size
        finally:
            await opened.aclose()
        created = await self._get_engine().create(
            target, length=length, metadata_header=metadata_header
        )
        return created.location
