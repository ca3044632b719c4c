"""Per-server limits an operator can set on creation: bytes stored, unfinished uploads, and
uploads created per client address per minute.

The first two are counted by the store (:class:`~tuskit_server.stores.base.UsageReporter`,
a scan) every ``recount_every`` seconds, so they hold across ``--workers`` processes and
see completions, terminations and expiries; creations in between are added at once, so a
burst cannot slip past the count. The per-address rate is counted in the process (with
``--workers``, per worker), over a sliding minute.
"""

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tuskit_common import ServiceUnavailable
from tuskit_server.errors import InsufficientStorage, TooManyRequests
from tuskit_server.log import logger
from tuskit_server.stores.base import UsageReporter

__all__ = ["Limits", "Quota"]

StoresSource = Callable[[], Awaitable[list[UsageReporter]]]

_WINDOW = 60.0
#: Client addresses remembered at most (the oldest are forgotten first).
_ADDRESSES = 65536


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-server limits; None leaves one off.

    Attributes:
        max_stored_bytes: the most bytes all uploads may reserve together (each its length,
            or its offset while deferred): a creation past it gets 507.
        max_uploads_in_progress: the most unfinished uploads: a creation past it gets 503
            with ``Retry-After``.
        creations_per_minute: uploads one client address may create per minute: 429 with
            ``Retry-After`` past it.
        recount_every: seconds between the store's counts.
    """

    max_stored_bytes: int | None = None
    max_uploads_in_progress: int | None = None
    creations_per_minute: int | None = None
    recount_every: float = 10.0

    @property
    def counts_store(self) -> bool:
        return self.max_stored_bytes is not None or self.max_uploads_in_progress is not None


class Quota:
    """The live counts behind :class:`Limits` for one endpoint."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.reserved_bytes = 0
        self.unfinished = 0
        self._created = (0, 0)  # creations and their bytes so far, for recounts
        self._recent: dict[str, deque[float]] = {}
        self._task: asyncio.Task[None] | None = None

    def check(self, address: str, length: int | None, now: float) -> None:
        """Before a creation of ``length`` bytes (None: deferred) by ``address``.

        Raises:
            TooManyRequests (429), ServiceUnavailable (503), InsufficientStorage (507).
        """
        limits = self.limits
        if limits.creations_per_minute is not None:
            recent = self._recent.get(address)
            if recent is not None:
                while recent and now - recent[0] >= _WINDOW:
                    recent.popleft()
                if len(recent) >= limits.creations_per_minute:
                    wait = max(1, math.ceil(_WINDOW - (now - recent[0])))
                    raise TooManyRequests(
                        f"more than {limits.creations_per_minute} uploads a minute from "
                        f"{address}; retry in {wait} s",
                        retry_after=wait,
                    )
        most = limits.max_uploads_in_progress
        if most is not None and self.unfinished >= most:
            raise ServiceUnavailable(
                f"{self.unfinished} uploads are in progress, the most this server takes",
                code="uploads_in_progress",
            )
        quota = limits.max_stored_bytes
        if quota is not None and self.reserved_bytes + (length or 0) > quota:
            raise InsufficientStorage(f"the server's storage quota of {quota} bytes is used up")

    def created(self, address: str, length: int | None, now: float) -> None:
        """Count a creation (until the next recount sees it in the store)."""
        self.unfinished += 1 if length != 0 else 0
        self.reserved_bytes += length or 0
        self._created = (
            self._created[0] + (1 if length != 0 else 0),
            self._created[1] + (length or 0),
        )
        if self.limits.creations_per_minute is None:
            return
        recent = self._recent.pop(address, None) or deque()
        recent.append(now)
        self._recent[address] = recent  # most recent last: the first ones are the oldest
        if len(self._recent) > _ADDRESSES:
            del self._recent[next(iter(self._recent))]

    async def recount(self, stores: list[UsageReporter]) -> None:
        """Replace the counts with the stores' own, plus the creations made while they
        counted (which the count may have seen already: a recount errs on the full side,
        the next one corrects it)."""
        count_before, bytes_before = self._created
        reserved = unfinished = 0
        for store in stores:
            usage = await store.usage()
            reserved += usage.reserved_bytes
            unfinished += usage.unfinished
        self.unfinished = unfinished + self._created[0] - count_before
        self.reserved_bytes = reserved + self._created[1] - bytes_before

    def start(self, list_stores: StoresSource) -> None:
        """Recount every ``recount_every`` seconds in a task (after a first count by the
        caller), when a store limit is set."""
        if self.limits.counts_store and self._task is None:
            self._task = asyncio.create_task(self._run(list_stores), name="tuskit-quota-count")

    async def _run(self, list_stores: StoresSource) -> None:
        while True:
            await asyncio.sleep(self.limits.recount_every)
            try:
                await self.recount(await list_stores())
            except Exception:
                logger.exception("counting the stored uploads for the quotas failed")

    async def stop(self) -> None:
        """End the recount task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
