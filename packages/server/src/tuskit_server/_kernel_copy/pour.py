"""Pouring one request's body into a store's file: the kernel-copy path's one entry.

A :class:`SocketPour` first decides, before any byte is read, whether the body is worth it
(:meth:`SocketPour.ready`), then hands the socket to a transfer thread that opens the
store's :class:`~tuskit_server.stores.base.PourTarget`, moves the bytes and finishes the
target (:meth:`SocketPour.run`). The body reader owns it and turns its :class:`Ending` into
the same errors a body read in Python gets.
"""

import asyncio
from collections.abc import Callable

from aiohttp import web

from tuskit_common import Resource
from tuskit_server._kernel_copy.handover import HandedOver, SocketHandover
from tuskit_server._kernel_copy.splice import Ending, SocketToFile, TransferSlots
from tuskit_server.stores.base import PourTarget

__all__ = ["Ending", "SocketPour", "TransferSlots"]

#: A body is poured only when this much of it arrived within this time of the handler
#: starting (at most aiohttp's default buffer, which fills without being read).
_PROBE_BYTES = 64 * 1024
_PROBE_SECONDS = 0.1


class SocketPour:
    """The body of ``request`` as something a transfer thread can pour into a file.

    Args:
        request: the aiohttp request, its body still unread.
        on_take: called once the socket is taken (the connection then has to close).
        slots: the transfers that may run at once (each in its own thread).
        pour_min: the fewest unread body bytes worth pouring (the connection closes after).
        idle_timeout: seconds the transfer may wait for data.
    """

    def __init__(
        self,
        request: web.Request,
        on_take: Callable[[], None],
        *,
        slots: TransferSlots,
        pour_min: int,
        idle_timeout: float,
    ) -> None:
        self._request = request
        self._handover = SocketHandover(request, on_take)
        self._slots = slots
        self._pour_min = pour_min
        self._idle = idle_timeout
        self._slot = False
        self._mover: SocketToFile | None = None
        #: body bytes written by the last :meth:`run`
        self.moved = 0

    @property
    def last_moved(self) -> float | None:
        """``time.monotonic()`` of the last byte moved, while a transfer runs."""
        mover = self._mover
        return mover.last_moved if mover is not None else None

    async def ready(self, limit: int | None, stopped: Callable[[], bool]) -> bool:
        """True when :meth:`run` may be used: a Content-Length within ``limit``, a plain
        socket with at least ``pour_min`` body bytes unread, a client that sends fast
        (:data:`_PROBE_BYTES` within :data:`_PROBE_SECONDS`: a slow one would hold a thread
        for nothing), and a free slot. True reserves the slot: :meth:`run` must follow."""
        length = self._handover.length
        if stopped() or length is None:
            return False
        if limit is not None and length > limit:
            return False
        if length < self._pour_min:  # too short to pour, whatever has arrived
            return False
        if not await self._handover.arriving(min(_PROBE_BYTES, length), _PROBE_SECONDS):
            return False
        remaining = self._handover.remaining()
        if remaining <= 0 or remaining < self._pour_min or stopped():
            return False  # (a newer request may have stopped the body during the probe)
        if not self._slots.take():
            return False
        self._slot = True
        return True

    async def run(
        self, target: PourTarget, *, salvage: Callable[[], list[bytes]], stopped: bool
    ) -> tuple[Ending, Resource]:
        """Open ``target``, write the whole body into it and finish it, all in one transfer
        thread; returns how the body ended and what ``finish`` returned. Raises what
        ``open`` or ``finish`` raise, and OSError from the file. Only after :meth:`ready`."""
        assert self._slot
        # ready() saw the connection with no wait since; should it be gone all the same (or
        # its body failed), only what aiohttp had buffered (``salvage()``) is written, and
        # the body ends as with a lost connection.
        lost = not self._handover.connected() or self._request.content.exception() is not None
        try:
            taken = HandedOver(-1, salvage(), 0) if lost else self._handover.take()
        except BaseException:
            self.release()
            raise
        mover = SocketToFile(
            taken.sock,
            offset=target.offset,
            head=taken.head,
            count=taken.count,
            idle_timeout=self._idle,
        )
        self._mover = mover
        if stopped:
            mover.stop()  # stopped before the transfer started

        def transfer() -> tuple[Ending, Resource]:
            fd = target.open()
            try:
                ending = mover.run(fd)
            except BaseException:
                target.finish(fd)
                raise
            return ending, target.finish(fd)

        job = self._slots.threads.run(transfer)
        try:
            ending, result = await asyncio.shield(job)
        except asyncio.CancelledError:
            mover.stop()
            await asyncio.wait([job])
            raise
        finally:
            self._mover = None
            self.moved = mover.moved
            self._handover.release()
            self.release()
        return (Ending.RESET if lost else ending), result

    def stop(self) -> None:
        """Wake a running transfer and end it (any thread)."""
        if self._mover is not None:
            self._mover.stop()

    def release(self) -> None:
        """Give back the slot :meth:`ready` reserved (done by :meth:`run`; idempotent)."""
        if self._slot:
            self._slot = False
            self._slots.give_back()
