"""The :class:`RedisLocker`: upload locks shared by several servers through one Redis.

Each lock is a Redis key holding a random token with an expiry (a lease), taken with
``SET NX PX`` and renewed every third of the lease while held; only the token's owner
renews or deletes it (Lua scripts, :mod:`._redis_link`). A request that finds the upload
locked asks the holder to let go over pub/sub, and the holder's ``on_release`` runs exactly
as within one process (digest §4.3); the wait is bounded by ``wait`` (then 423).

Fencing: a held lock is a :class:`~tuskit_server.locks.base.Lease`. It counts itself held
until two thirds of the lease after the last renewal was sent, which leaves a third of the
lease to persist what the store was already handed before Redis could give the lock to
anyone else. It lapses at once when a renewal fails, when the lock turns out to be someone
else's, or when the event subscription drops (Redis stopped: a restarted Redis has forgotten
every lock); the :class:`~tuskit_server.locks.base.Fence` of the holder then stops its body.
When Redis cannot be reached, acquiring raises :class:`~tuskit_server.errors.LockUnavailable`
(503) and nothing is done unlocked; the connection comes back by itself.

Needs the ``redis`` extra: ``pip install 'tuskit-server[redis]'``.
"""

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable

from redis.exceptions import RedisError

from tuskit_common import Locked
from tuskit_server.errors import LockUnavailable
from tuskit_server.locks._redis_link import RedisLink, connect
from tuskit_server.locks.base import BUSY_MESSAGE
from tuskit_server.log import logger

__all__ = ["RedisLocker"]


class RedisLocker:
    """Locks kept in Redis, shared by every server that uses the same Redis and namespace.

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS) or
            ``unix://path[?db=N]``.
        lease: seconds a lock outlives its holder's last renewal (a crashed holder's
            uploads are free again after this long).
        poll: seconds between a waiter's attempts when no release is announced.
        timeout: seconds a Redis connection or command may take before it counts as
            unreachable.
        namespace: prefix of the keys and of the event channel.

    Connections are opened on first use in each process and event loop (so forked workers
    never share one); :meth:`close` closes this process's.
    """

    def __init__(
        self,
        url: str,
        *,
        lease: float = 10.0,
        poll: float = 0.1,
        timeout: float = 2.0,
        namespace: str = "tuskit",
    ) -> None:
        if min(lease, poll, timeout) <= 0:
            raise ValueError("lease, poll and timeout must be positive")
        self.url = url
        self.lease = lease
        self.poll = poll
        self.timeout = timeout
        self.namespace = namespace
        self._link: RedisLink | None = None

    def new_lock(self, upload_id: str) -> "_RedisLock":
        """A lock object for ``upload_id``."""
        return _RedisLock(self, upload_id)

    def is_locked(self, upload_id: str) -> bool:
        """True while a request of this process holds the lock (for tests and metrics)."""
        link = self._link
        return link is not None and link.pid == os.getpid() and bool(link.holders.get(upload_id))

    def key(self, upload_id: str) -> str:
        """The Redis key of ``upload_id``'s lock."""
        return f"{self.namespace}:lock:{upload_id}"

    async def link(self) -> RedisLink:
        """This process's subscribed link (created on first use in each process and loop).

        Raises:
            LockUnavailable: Redis cannot be reached.
        """
        link = self._link
        if link is None or link.pid != os.getpid() or link.loop is not asyncio.get_running_loop():
            link = self._link = RedisLink(
                self.url, channel=f"{self.namespace}:lock-events", timeout=self.timeout
            )
        await link.ready()
        return link

    async def close(self) -> None:
        """Close this process's connection (every lock still held here lapses)."""
        link, self._link = self._link, None
        if link is not None and link.pid == os.getpid():
            with contextlib.suppress(RuntimeError):  # its event loop is already gone
                await link.close()

    async def check(self) -> None:
        """Ping Redis once with a connection of its own (start-up check).

        Raises:
            LockUnavailable: Redis cannot be reached; the message says why.
        """
        client = connect(self.url, self.timeout)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LockUnavailable(f"Redis cannot be reached: {reason}") from exc
        finally:
            await client.aclose()


class _RedisLock:
    __slots__ = (
        "_id",
        "_lapse_callbacks",
        "_lapsed",
        "_link",
        "_locker",
        "_renewal",
        "_token",
        "_valid_until",
    )

    def __init__(self, locker: RedisLocker, upload_id: str) -> None:
        self._locker = locker
        self._id = upload_id
        self._link: RedisLink | None = None
        self._token: str | None = None
        self._valid_until = 0.0
        self._lapsed = False
        self._lapse_callbacks: list[Callable[[], None]] = []
        self._renewal: asyncio.Task[None] | None = None

    async def acquire(self, *, wait: float, on_release: Callable[[], None]) -> None:
        locker = self._locker
        link = await locker.link()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        token = secrets.token_hex(16)
        lease_ms = max(1, round(locker.lease * 1000))
        key = locker.key(self._id)
        released = link.wait_for(self._id)
        try:
            while True:
                released.clear()
                sent = loop.time()
                if await link.acquire(key, token, lease_ms, self._id):
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise Locked(BUSY_MESSAGE)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(locker.poll, remaining)):
                        await released.wait()
        finally:
            link.stop_waiting(self._id, released)
        self._link, self._token = link, token
        self._valid_until = sent + locker.lease * 2 / 3
        link.holders.setdefault(self._id, {})[self] = (on_release, self._lapse)
        self._renewal = loop.create_task(self._renew(link, key, token, lease_ms))

    @property
    def held(self) -> bool:
        """True while the lease is certainly ours (see the module's fencing notes)."""
        if self._token is None or self._lapsed:
            return False
        return asyncio.get_running_loop().time() < self._valid_until

    def on_lapse(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once when the lease lapses (at once if it already has)."""
        if self._lapsed:
            callback()
        else:
            self._lapse_callbacks.append(callback)

    def _lapse(self) -> None:
        if self._lapsed or self._token is None:
            return
        self._lapsed = True
        logger.warning("the lock of upload %s lapsed while held", self._id)
        callbacks, self._lapse_callbacks = self._lapse_callbacks, []
        for callback in callbacks:
            callback()

    async def _renew(self, link: RedisLink, key: str, token: str, lease_ms: int) -> None:
        """Every third of the lease: extend it, or lapse when that fails in time."""
        loop = asyncio.get_running_loop()
        lease = self._locker.lease
        while True:
            await asyncio.sleep(lease / 3)
            sent = loop.time()
            renewed = False
            with contextlib.suppress(TimeoutError, LockUnavailable):
                async with asyncio.timeout(max(0.0, self._valid_until - sent)):
                    renewed = await link.renew(key, token, lease_ms)
            if not renewed:
                self._lapse()
                return
            self._valid_until = sent + lease * 2 / 3

    async def release(self) -> None:
        token, link = self._token, self._link
        if token is None or link is None:
            raise RuntimeError("release() without acquire()")
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        holders = link.holders.get(self._id, {})
        holders.pop(self, None)
        if not holders:
            link.holders.pop(self._id, None)
        self._token = None
        self._lapse_callbacks.clear()
        try:
            await link.release(self._locker.key(self._id), token, self._id)
        except LockUnavailable:
            logger.warning("upload %s: its lock is left to expire (Redis unreachable)", self._id)
