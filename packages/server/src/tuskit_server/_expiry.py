"""The expiration sweeper: removes unfinished uploads idle for too long (digest §3.4).

Runs as a task owned by ``cleanup_ctx``. Each pass asks every store of the endpoint for
expired ids, re-checks each one under its lock, removes it (the store keeps a tombstone, so
the id answers 410) and finally forgets tombstones older than ``tombstone_ttl`` (404).
"""

import asyncio

from tuskit_common import ProtocolError
from tuskit_server._endpoint import Endpoint
from tuskit_server._rules import is_expired
from tuskit_server.log import logger

__all__ = ["run_sweeper", "sweep"]

#: Seconds the sweeper waits for a busy upload's lock before leaving it to the next pass.
_BUSY_WAIT = 1.0


async def sweep(endpoint: Endpoint) -> int:
    """One pass; returns how many uploads expired."""
    expiration = endpoint.config.expiration
    if expiration is None:
        return 0
    count = 0
    for composer in await endpoint.stores():
        expirer = composer.expirer
        if expirer is None:
            continue
        for upload_id in await expirer.expired(endpoint.now()):
            try:
                # A short wait: an upload busy with a request is not expired under it (its
                # PATCH moves the expiry on); the next pass looks again.
                async with endpoint.locked(upload_id, wait=_BUSY_WAIT):
                    resource = await composer.core.get(upload_id)
                    if is_expired(resource, endpoint.now()):
                        await expirer.expire(upload_id)
                        count += 1
                        if endpoint.metrics is not None:
                            endpoint.metrics.expired.inc()
                        logger.info("upload %s expired", upload_id)
            except ProtocolError as exc:
                logger.debug("upload %s not expired now: %s", upload_id, exc.message)
        await expirer.forget(endpoint.now() - expiration.tombstone_ttl)
    return count


async def run_sweeper(endpoint: Endpoint) -> None:
    """Sweep every ``sweep_interval`` until cancelled; a failing pass is logged, not fatal.

    An OS error (no descriptors left, a full or vanished disk) is the machine's state, not a
    bug: it is logged as one line and the next pass tries again.
    """
    expiration = endpoint.config.expiration
    if expiration is None:
        return
    interval = expiration.sweep_interval.total_seconds()
    while True:
        try:
            await sweep(endpoint)
        except OSError as exc:
            logger.error("expiration sweep failed for %s: %s", endpoint.config.upload_url, exc)
        except Exception:
            logger.exception("expiration sweep failed for %s", endpoint.config.upload_url)
        await asyncio.sleep(interval)
