"""One path for both ways a body reaches a store: ``write`` and ``write_staged`` differ only
in ``accept`` (None: keep every byte), so a store implements :meth:`AppendPath._append` once.
"""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import datetime

from tuskit_common import Resource

__all__ = ["AppendJob", "AppendPath"]


@dataclass(frozen=True, slots=True)
class AppendJob:
    """Where a body goes and what becomes of it: ``accept`` None keeps every byte (``write``),
    else the body is kept only if ``accept()`` says so once it ended (``write_staged``)."""

    upload_id: str
    offset: int
    accept: Callable[[], bool] | None
    expires_at: datetime | None


class AppendPath(ABC):
    """Mixin: :class:`~tuskit_server.stores.base.DataStore`'s ``write`` and
    :class:`~tuskit_server.stores.base.StagedWriter` over one :meth:`_append`."""

    async def write(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        expires_at: datetime | None,
    ) -> Resource:
        """Append ``body`` at ``offset``; what arrived is kept even if ``body`` ends early."""
        return await self._append(body, AppendJob(upload_id, offset, None, expires_at))

    async def write_staged(
        self,
        upload_id: str,
        offset: int,
        body: AsyncIterable[bytes],
        *,
        accept: Callable[[], bool],
        expires_at: datetime | None,
    ) -> Resource:
        """Append ``body``; leave the upload as it was unless ``accept()`` says so after."""
        return await self._append(body, AppendJob(upload_id, offset, accept, expires_at))

    @abstractmethod
    async def _append(self, body: AsyncIterable[bytes], job: AppendJob) -> Resource:
        """Append ``body`` as ``job`` says; every byte kept unless ``job.accept`` refuses."""
