"""A fault-injecting TCP proxy for tests, in the spirit of the Toxiproxy toxics tusd's e2e
tests use: it sits between a client and a server on loopback and breaks the byte stream on
purpose.

Faults (one :class:`Fault` per connection, any combination):

- ``cut_upstream_after=n``: forward exactly ``n`` client-to-server bytes, then close both
  sides (FIN): the server sees a request body end early, the client a closed connection.
- ``stall_upstream_after=n``: forward ``n`` bytes, then hold the rest back for
  ``stall_seconds`` (``None``: until :meth:`FaultProxy.release`).
- ``bytes_per_second``: a bandwidth limit in both directions.
- ``reset_downstream_after=n``: pass ``n`` server-to-client bytes (the response), then reset
  the client's connection (RST, through ``SO_LINGER`` 0) and close the server side.
- ``answer_status=code``: answer the connection's first HTTP request with ``code`` (and
  ``Connection: close``) without forwarding anything: an upstream failing with 500 or 503.

:meth:`FaultProxy.inject` arms a fault for the next ``times`` connections; others are passed
through untouched, so a test can break one attempt and let the retry succeed. Counters
(``connections``, ``faulted``, ``bytes_up``, ``bytes_down``) let tests check a fault fired.

Usage::

    async with FaultProxy("http://127.0.0.1:8080/uploads") as proxy:
        proxy.inject(Fault(cut_upstream_after=100_000))
        await client.upload(path, endpoint=proxy.url)

:meth:`FaultProxy.break_all` applies a fault to every connection from then on and resets the
open ones, so that a client keeping a pool of connections meets it at once.

Loopback only: the proxy listens on 127.0.0.1 (a free port) and refuses other upstreams.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from yarl import URL

LOOPBACK = "127.0.0.1"
_READ = 64 * 1024


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to one proxied connection; the default passes it through."""

    cut_upstream_after: int | None = None
    stall_upstream_after: int | None = None
    stall_seconds: float | None = None
    reset_downstream_after: int | None = None
    bytes_per_second: int | None = None
    answer_status: int | None = None


class _Cut(Exception):
    """Raised inside a pump to end the connection the way the fault says."""

    def __init__(self, reset_client: bool) -> None:
        super().__init__("reset" if reset_client else "cut")
        self.reset_client = reset_client


class FaultProxy:
    """An asyncio TCP proxy on a free loopback port in front of ``upstream``.

    Args:
        upstream: ``http://127.0.0.1:<port>[/path]`` or a ``(host, port)`` pair on loopback.
        fault: a fault for *every* connection (default: none; see :meth:`inject`).
    """

    def __init__(self, upstream: str | URL | tuple[str, int], *, fault: Fault | None = None):
        if isinstance(upstream, tuple):
            host, port = upstream
            self._target = URL.build(scheme="http", host=host, port=port)
        else:
            self._target = URL(upstream)
            if self._target.host is None or self._target.port is None:
                raise ValueError(f"upstream needs a host and a port: {upstream}")
            host, port = self._target.host, self._target.port
        if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
            raise ValueError(f"the fault proxy only forwards to loopback, not {host}")
        self._upstream = (host, port)
        self._default = fault or Fault()
        self._armed: deque[Fault] = deque()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._released = asyncio.Event()
        self._closing = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.faulted = 0
        self.bytes_up = 0
        self.bytes_down = 0

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, LOOPBACK, 0)

    async def close(self) -> None:
        """Stop listening and end every open connection (both sides reset)."""
        if self._server is not None:
            self._server.close()
        self._closing.set()
        self._released.set()
        for writer in list(self._writers):
            _reset(writer)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """The upstream URL (path included) with the proxy's host and port."""
        return str(self._target.with_host(LOOPBACK).with_port(self.port))

    # -- control --------------------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to each of the next ``times`` new connections."""
        self._armed.extend([fault] * times)
        self._released.clear()

    def release(self) -> None:
        """End every stall that waits for release (``stall_seconds=None``)."""
        self._released.set()

    def break_all(self, fault: Fault | None) -> None:
        """Apply ``fault`` to every new connection from now on (None: pass them through), and
        reset the open ones, so that pooled clients reconnect into it."""
        self._default = fault or Fault()
        for writer in list(self._writers):
            _reset(writer)

    @property
    def pending_faults(self) -> int:
        """Armed faults no connection has taken yet."""
        return len(self._armed)

    # -- proxying -------------------------------------------------------------------

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self._writers.add(client_w)
        fault = self._armed.popleft() if self._armed else self._default
        if fault != Fault():
            self.faulted += 1
        server_w: asyncio.StreamWriter | None = None
        try:
            if fault.answer_status is not None:
                await _answer(client_r, client_w, fault.answer_status)
                return
            try:
                server_r, server_w = await asyncio.open_connection(*self._upstream)
            except OSError:
                _reset(client_w)
                return
            self._writers.add(server_w)
            pumps = {
                asyncio.ensure_future(self._pump(client_r, server_w, fault, upstream=True)),
                asyncio.ensure_future(self._pump(server_r, client_w, fault, upstream=False)),
            }
            try:
                done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
            errors = [t.exception() for t in done if not t.cancelled() and t.exception()]
            if any(isinstance(e, _Cut) and e.reset_client for e in errors):
                _reset(client_w)
        finally:
            for writer in (client_w, server_w):
                if writer is None:
                    continue
                self._writers.discard(writer)
                writer.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.wait_closed()
            self._tasks.discard(task)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        fault: Fault,
        *,
        upstream: bool,
    ) -> None:
        """Copy one direction, applying the fault; a clean EOF is passed on as FIN."""
        moved = 0
        stalled = False
        cut_at = fault.cut_upstream_after if upstream else fault.reset_downstream_after
        stall_at = fault.stall_upstream_after if upstream else None
        while True:
            try:
                data = await reader.read(_READ)
            except ConnectionError:
                data = b""
            if not data:
                if writer.can_write_eof():
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                return
            while data:
                room = len(data)
                if cut_at is not None:
                    room = min(room, cut_at - moved)
                if stall_at is not None and not stalled:
                    room = min(room, stall_at - moved)
                if room > 0:
                    await self._send(writer, data[:room], fault, upstream=upstream)
                    moved += room
                    data = data[room:]
                if cut_at is not None and moved >= cut_at:
                    raise _Cut(reset_client=not upstream)
                if stall_at is not None and not stalled and moved >= stall_at:
                    stalled = True
                    await self._stall(fault)

    async def _send(
        self, writer: asyncio.StreamWriter, data: bytes, fault: Fault, *, upstream: bool
    ) -> None:
        rate = fault.bytes_per_second
        step = len(data) if rate is None else max(1, rate // 20)
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            if rate is not None:
                # Wait first, so the last byte leaves no earlier than size / rate.
                await asyncio.sleep(len(piece) / rate)
            writer.write(piece)
            await writer.drain()
            if upstream:
                self.bytes_up += len(piece)
            else:
                self.bytes_down += len(piece)

    async def _stall(self, fault: Fault) -> None:
        if fault.stall_seconds is None:
            await self._released.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.stall_seconds)


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int) -> None:
    """Read one request head and answer it with ``status`` and no body."""
    with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            f"HTTP/1.1 {status} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: SO_LINGER on with a zero timeout, then abort."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
