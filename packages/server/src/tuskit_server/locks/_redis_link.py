"""One process's connection to Redis for a :class:`~tuskit_server.locks.redis.RedisLocker`:
the three lock scripts, and the event channel on which requests ask holders to let go.

Every instance subscribes to one channel of the locker's namespace. A request that finds an
upload locked publishes ``want:<id>`` (inside the same script that failed to take the lock,
so nothing is lost between the two); the instance holding it calls its holder's
``on_release``. A release publishes ``free:<id>``, which wakes this upload's waiters on every
instance at once; they also retry every ``poll`` seconds, since a lease that simply expired
announces nothing. The subscription doubles as a liveness signal: when it drops (Redis
stopped, the network cut), every lock this process holds lapses at once, before a restarted
Redis, which forgot the locks, could hand them to someone else.
"""

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tuskit_server.errors import LockUnavailable
from tuskit_server.log import logger

__all__ = ["RedisLink", "connect"]

#: Take the lock for ``ARGV[2]`` ms with token ``ARGV[1]``, else ask its holder to let go.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 0
"""
#: Extend the lease if the lock still carries our token.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
#: Drop the lock if it still carries our token, and wake the waiters.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
"""
UNREACHABLE = "the lock service cannot be reached; retry later"
_RETRY_PAUSE = 0.1
_RETRY_PAUSE_MAX = 0.5


def connect(url: str, timeout: float) -> Redis:
    """A client whose connections and commands give up after ``timeout`` seconds, with one
    immediate retry: a pooled connection that died with a Redis restart is replaced at once,
    and an unreachable Redis costs a request at most about twice ``timeout``."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


class RedisLink:
    """Commands and the event channel of one locker, in one process and event loop.

    ``holders`` maps an upload id to the callbacks of the locks this process holds on it
    (asked to let go on ``want``; lapsed when the subscription drops); ``waiters`` to the
    events of the requests of this process waiting for it (set on ``free``).
    """

    def __init__(self, url: str, *, channel: str, timeout: float) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.get_running_loop()
        self.channel = channel
        self._timeout = timeout
        self.client = connect(url, timeout)
        self._acquire = self.client.register_script(ACQUIRE)
        self._renew = self.client.register_script(RENEW)
        self._release = self.client.register_script(RELEASE)
        self.holders: dict[str, dict[object, tuple[Callable[[], None], Callable[[], None]]]] = {}
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self._subscribed = asyncio.Event()
        self._tried = asyncio.Event()  # the first subscription attempt ended, either way
        self._listener = asyncio.create_task(self._listen())

    async def ready(self) -> None:
        """Return once the event channel is subscribed.

        Raises:
            LockUnavailable: Redis cannot be reached (at once while an outage is known).
        """
        if self._subscribed.is_set():
            return
        if not self._tried.is_set():
            try:
                async with asyncio.timeout(self._timeout):
                    await self._tried.wait()
            except TimeoutError:
                pass
        if not self._subscribed.is_set():
            raise LockUnavailable(UNREACHABLE)

    async def acquire(self, key: str, token: str, lease_ms: int, upload_id: str) -> bool:
        """One attempt: True when the lock is ours; else its holder was asked to let go."""
        return bool(
            await self._run(self._acquire, key, token, lease_ms, self.channel, "want:" + upload_id)
        )

    async def renew(self, key: str, token: str, lease_ms: int) -> bool:
        """Extend the lease; False when the lock is no longer ours."""
        return bool(await self._run(self._renew, key, token, lease_ms))

    async def release(self, key: str, token: str, upload_id: str) -> None:
        """Drop the lock if it is still ours and wake its waiters."""
        await self._run(self._release, key, token, self.channel, "free:" + upload_id)

    async def _run(self, script: Any, key: str, *args: object) -> object:
        try:
            return await script(keys=[key], args=list(args))
        except (RedisError, OSError) as exc:
            logger.debug("Redis lock command failed: %s", exc)  # the listener tells outages
            raise LockUnavailable(UNREACHABLE) from exc

    def wait_for(self, upload_id: str) -> asyncio.Event:
        """An event set when ``upload_id`` is released (call :meth:`stop_waiting` after)."""
        event = asyncio.Event()
        self.waiters.setdefault(upload_id, set()).add(event)
        return event

    def stop_waiting(self, upload_id: str, event: asyncio.Event) -> None:
        waiting = self.waiters.get(upload_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self.waiters[upload_id]

    async def _listen(self) -> None:
        """Stay subscribed; dispatch events; lapse every held lock when the channel drops."""
        pause = _RETRY_PAUSE
        down = False
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                self._tried.set()
                if down:
                    logger.warning("Redis lock service reachable again")
                down, pause = False, _RETRY_PAUSE
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._dispatch(message["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                self._tried.set()
                self._lapse_all()
                if not down:
                    logger.warning("Redis lock service unreachable: %s", exc)
                down = True
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await asyncio.shield(pubsub.aclose())
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RETRY_PAUSE_MAX)

    def _dispatch(self, data: bytes) -> None:
        kind, _, upload_id = data.decode(errors="replace").partition(":")
        if kind == "want":
            for wanted, _ in list(self.holders.get(upload_id, {}).values()):
                wanted()
        elif kind == "free":
            for event in self.waiters.get(upload_id, ()):
                event.set()

    def _lapse_all(self) -> None:
        for holders in list(self.holders.values()):
            for _, lapse in list(holders.values()):
                lapse()

    async def close(self) -> None:
        """Stop listening and close the connections."""
        self._listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._listener
        self._lapse_all()
        await self.client.aclose()
