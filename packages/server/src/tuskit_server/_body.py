"""Reading a PATCH (or POST) body in bounded pieces, stoppable, never raising mid-stream.

:class:`BodyReader` is what a store iterates over. Like tusd's ``bodyReader``
(digest §4.2) it hides transport failures from the store: on a timeout, a reset, a short
body or a stop request it simply ends, so the store persists every byte it was handed; the
handler reads :attr:`BodyReader.error` afterwards and picks the answer. Each piece is
capped at ``read_size`` and at the bytes still allowed (aiohttp's buffered pieces are handed
on one by one, whole when they fit: no join, no copy); each read is bounded in time by
``idle_timeout`` (tusd ``-network-timeout``, digest §4.10). Never ``await request.read()``:
aiohttp's ``client_max_size`` then never caps an upload and memory stays flat.

A large body can instead be *poured* into a store's file (:meth:`BodyReader.pour`, through
:mod:`tuskit_server._kernel_copy.pour`), with the same endings (every byte kept, the error
set, never raised).
"""

import asyncio
import collections
import time
from collections.abc import AsyncIterator

from aiohttp import ClientPayloadError, StreamReader
from aiohttp.http_exceptions import (
    ContentEncodingError,
    HttpProcessingError,
    TransferEncodingError,
)

from tuskit_common import (
    BadRequest,
    Checksum,
    Hasher,
    ProtocolError,
    Resource,
    ServerError,
    TooLarge,
)
from tuskit_server._framing import MalformedBody
from tuskit_server._kernel_copy.pour import Ending, SocketPour
from tuskit_server.errors import LockLost
from tuskit_server.locks.base import Fence
from tuskit_server.log import logger
from tuskit_server.stores.base import PourTarget

__all__ = ["BodyReader"]


class BodyReader:
    """An async iterator over a request body.

    Args:
        content: ``request.content``.
        limit: bytes allowed (the rest of the upload); None for no limit.
        read_size: the largest piece read at once.
        idle_timeout: seconds one read may wait for data.
        hasher: fed with every piece (checksum extension), if given.
        checksum: the digest the client announced, for the caller to compare.
        pour: the request's socket, for :meth:`pour`; None never pours.
    """

    def __init__(
        self,
        content: StreamReader,
        *,
        limit: int | None,
        read_size: int,
        idle_timeout: float,
        hasher: Hasher | None = None,
        checksum: Checksum | None = None,
        pour: SocketPour | None = None,
    ) -> None:
        self._content = content
        self.limit = limit
        self._read_size = read_size
        self._idle = idle_timeout
        self.hasher = hasher
        self.checksum = checksum
        self.received = 0
        self.error: ProtocolError | None = None
        self.finished = False
        self._stop: ProtocolError | None = None
        self._timeout: asyncio.Timeout | None = None
        self._carry = b""  # the rest of a piece split at ``read_size`` or the limit
        self._pour = pour
        #: ``time.monotonic()`` of the last byte read (or of the start)
        self.last_byte = time.monotonic()
        self._recheck: asyncio.TimerHandle | None = None
        self._fence: Fence | None = None

    def guard(self, fence: Fence) -> None:
        """Hand the store no piece once ``fence`` no longer holds (a lapsed lease): the
        lapse stops the reader at once, and each piece is checked before it goes out."""
        self._fence = fence
        fence.on_lapse(lambda: self.stop(_lock_lost()))

    def check_fence(self) -> None:
        """Raise :class:`LockLost` (503) if the lock lapsed: the caller commits nothing more."""
        if isinstance(self.error, LockLost):
            raise self.error
        if self._fence is not None:
            self._fence.check()

    def _fenced(self) -> bool:
        """True (and the reader stopped) when the lock lapsed: the next piece stays here."""
        if self._fence is None or self._fence.held:
            return False
        self.stop(_lock_lost())
        self.error = self._stop
        return True

    def take_over(self, reason: ProtocolError, stale_after: float) -> None:
        """A newer request wants the upload: stop once no body byte has arrived for
        ``stale_after`` seconds, at once if that is already so (a body still receiving
        data is never interrupted). Idempotent; any number of calls schedule one check."""
        if self._stop is not None or self.finished or self.error is not None:
            return
        moved = self._pour.last_moved if self._pour is not None else None
        last = max(self.last_byte, moved) if moved is not None else self.last_byte
        idle = time.monotonic() - last
        if idle >= stale_after:
            self.stop(reason)
        elif self._recheck is None:
            self._recheck = asyncio.get_running_loop().call_later(
                stale_after - idle, self._check_again, reason, stale_after
            )

    def _check_again(self, reason: ProtocolError, stale_after: float) -> None:
        self._recheck = None
        self.take_over(reason, stale_after)

    def stop(self, reason: ProtocolError) -> None:
        """Ask the reader to end at once (lock release, shutdown); first reason wins."""
        if self._stop is None:
            self._stop = reason
        if self._timeout is not None and not self._timeout.expired():
            self._timeout.reschedule(asyncio.get_running_loop().time())
        if self._pour is not None:
            self._pour.stop()

    @property
    def complete(self) -> bool:
        """True when the body was read to its end without any error."""
        return self.finished and self.error is None

    async def pourable(self) -> bool:
        """True when :meth:`pour` may be used instead of iterating: nothing read yet, no
        checksum to compute, and a body :meth:`SocketPour.ready` finds worth pouring. True
        reserves a transfer slot: :meth:`pour` must follow."""
        pour = self._pour
        if pour is None or self.hasher is not None:
            return False
        if self.received or self._carry or self._stop is not None:
            return False
        return await pour.ready(self.limit, lambda: self._stop is not None)

    async def pour(self, target: PourTarget) -> Resource:
        """Open ``target``, write the whole body into it and finish it, in a transfer
        thread; returns what the target's ``finish`` returned. Ends early without raising
        like iteration does (the reason in :attr:`error`); raises what ``open`` or
        ``finish`` raise, and OSError from the file. Only after :meth:`pourable`."""
        pour = self._pour
        assert pour is not None
        try:
            ending, result = await pour.run(
                target, salvage=self._salvage, stopped=self._stop is not None
            )
        finally:
            self.received += pour.moved
            self._cancel_recheck()
        self._end(ending)
        return result

    def close(self) -> None:
        """Release a slot :meth:`pourable` reserved but no :meth:`pour` used, and a pending
        staleness check (the reader is done)."""
        self._cancel_recheck()
        if self._pour is not None:
            self._pour.release()

    def _cancel_recheck(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None

    def _end(self, ending: Ending) -> None:
        if ending is Ending.COMPLETE:
            self.finished = True
            return
        logger.debug("poured request body ended early: %s", ending.value)
        if ending is Ending.SHORT:
            self.error = self._stop or _short_body()
        elif ending is Ending.RESET:
            self.error = self._stop or _connection_lost()
        elif ending is Ending.IDLE:
            self.error = self._stop or _timed_out()
        else:
            self.error = self._stop or ServerError("the body transfer was stopped")

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        while True:
            if self._stop is not None:
                self.error = self._stop
                return
            want = self._read_size
            if self.limit is not None:
                want = min(want, self.limit - self.received)
                if want <= 0:
                    await self._check_overflow()
                    return
            piece = await self._next(want)
            if piece is None:
                for salvaged in self._salvage():
                    if self._fenced():
                        return
                    yield self._account(salvaged)
                return
            if not piece:
                self.finished = True
                return
            if self._fenced():
                return
            yield self._account(piece)

    async def _next(self, want: int) -> bytes | None:
        """Up to ``want`` bytes: aiohttp's buffered pieces are taken one at a time and whole
        (no join, no copy); only a piece larger than ``want`` is split, its rest kept."""
        piece = self._carry
        if not piece:
            read = await self._read()
            if read is None:
                return None
            piece = read
        self._carry = piece[want:] if len(piece) > want else b""
        return piece[:want] if self._carry else piece

    def _account(self, piece: bytes) -> bytes:
        self.received += len(piece)
        self.last_byte = time.monotonic()
        if self.hasher is not None:
            self.hasher.update(piece)
        return piece

    async def _read(self) -> bytes | None:
        """One read; None (with :attr:`error` set) when the body cannot go on."""
        try:
            async with asyncio.timeout(self._idle) as timeout:
                self._timeout = timeout
                while True:
                    # readchunk hands out one buffered piece as it is (readany joins them);
                    # an empty piece that only marks a chunked-encoding boundary is skipped
                    # (aiohttp's empty body answers (b"", True) too: it is at EOF).
                    piece, boundary = await self._content.readchunk()
                    if piece or not boundary or self._content.at_eof():
                        return piece
        except TimeoutError:
            self.error = self._stop or _timed_out()
        except (MalformedBody, TransferEncodingError, ContentEncodingError) as exc:
            logger.debug("malformed request body: %s", exc)
            self.error = self._stop or _malformed()
        except (ClientPayloadError, HttpProcessingError) as exc:
            logger.debug("request body ended early: %s", exc)
            self.error = self._stop or _short_body()
        except OSError as exc:
            logger.debug("connection lost while reading the body: %s", exc)
            self.error = self._stop or _connection_lost()
        finally:
            self._timeout = None
        return None

    async def _check_overflow(self) -> None:
        """At the limit: a body with more bytes is too large (digest §1.3, keep the rest)."""
        if self._carry:
            extra: bytes | None = self._carry
        elif self._content.at_eof():
            self.finished = True
            return
        else:
            extra = await self._read()
        if extra is None:
            return
        if extra:
            self.error = TooLarge(
                "the request body runs past the upload's length", code="body_too_large"
            )
        else:
            self.finished = True

    def _salvage(self) -> list[bytes]:
        """Bytes aiohttp buffered before the connection failed (best effort, digest §4.2).

        ``StreamReader.read`` raises the stored exception without handing out what is
        still buffered; the spec asks servers to keep as much as possible, so the buffer is
        taken directly when aiohttp's internals look as expected.
        """
        buffer = getattr(self._content, "_buffer", None)
        offset = getattr(self._content, "_buffer_offset", 0)
        if not isinstance(buffer, collections.deque) or not isinstance(offset, int):
            return []
        pieces = [bytes(p) for p in buffer]
        buffer.clear()
        if pieces and offset:
            pieces[0] = pieces[0][offset:]
        if self._carry:
            pieces.insert(0, self._carry)
            self._carry = b""
        self._content._buffer_offset = 0
        if self.limit is not None:
            room = self.limit - self.received
            kept: list[bytes] = []
            for piece in pieces:
                kept.append(piece[:room])
                room -= len(kept[-1])
            pieces = kept
        return [p for p in pieces if p]


def _timed_out() -> ServerError:
    return ServerError("timed out reading the request body", code="read_timeout")


def _short_body() -> BadRequest:
    return BadRequest("the request body is shorter than announced", code="body_incomplete")


def _malformed() -> BadRequest:
    return BadRequest("the request body's framing is malformed", code="body_malformed")


def _lock_lost() -> LockLost:
    return LockLost("the upload's lock lapsed while the body was read; retry")


def _connection_lost() -> ServerError:
    return ServerError("the connection was lost while reading the body", code="connection_reset")
