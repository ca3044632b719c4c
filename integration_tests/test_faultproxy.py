"""The fault proxy does what it says, against a tiny counting TCP server and an aiohttp app."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from integration_tests.faultproxy import Fault, FaultProxy

LOOPBACK = "127.0.0.1"


@dataclass
class Sink:
    """A TCP server that keeps every byte it receives and echoes them back."""

    received: bytearray = field(default_factory=bytearray)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    grew: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    async def wait_received(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.received) < count:
                self.grew.clear()
                await self.grew.wait()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                self.received += data
                self.grew.set()
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.closed.set()
            writer.close()


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    state = Sink()
    server = await asyncio.start_server(state.handle, LOOPBACK, 0)
    state.port = server.sockets[0].getsockname()[1]
    async with server:
        yield state


async def _read_all(reader: asyncio.StreamReader, into: bytearray) -> None:
    while chunk := await reader.read(65536):
        into += chunk


async def _send_and_read(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> bytes:
    writer.write(payload)
    await writer.drain()
    return await reader.readexactly(len(payload))


async def test_passes_bytes_through_both_ways(sink: Sink) -> None:
    payload = os.urandom(300_000)
    async with FaultProxy((LOOPBACK, sink.port)) as proxy:
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        writer.write(payload)
        await writer.drain()
        echoed = await reader.readexactly(len(payload))
        writer.close()
        await writer.wait_closed()
    assert echoed == payload
    assert bytes(sink.received) == payload
    assert (proxy.connections, proxy.faulted) == (1, 0)
    assert proxy.bytes_up == proxy.bytes_down == len(payload)


async def test_cut_upstream_after_n_bytes_forwards_exactly_n(sink: Sink) -> None:
    payload = os.urandom(200_000)
    async with FaultProxy((LOOPBACK, sink.port)) as proxy:
        proxy.inject(Fault(cut_upstream_after=70_001))
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await _send_and_read(reader, writer, payload)
        await asyncio.wait_for(sink.closed.wait(), 5)
        writer.close()
    assert bytes(sink.received) == payload[:70_001]
    assert proxy.faulted == 1


async def test_fault_applies_to_the_next_connections_only(sink: Sink) -> None:
    async with FaultProxy((LOOPBACK, sink.port)) as proxy:
        proxy.inject(Fault(cut_upstream_after=0), times=1)
        assert proxy.pending_faults == 1
        for expected in (b"", b"hello"):
            reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
            writer.write(b"hello")
            with_eof = await reader.read(5)
            assert with_eof == expected
            writer.close()
        assert proxy.pending_faults == 0
        assert (proxy.connections, proxy.faulted) == (2, 1)


async def test_stall_holds_bytes_until_released(sink: Sink) -> None:
    payload = os.urandom(100_000)
    async with FaultProxy((LOOPBACK, sink.port)) as proxy:
        proxy.inject(Fault(stall_upstream_after=40_000))
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        writer.write(payload)
        await writer.drain()
        await sink.wait_received(40_000)
        # Still stalled: the echo of the first part arrives, nothing more reaches the sink.
        assert await reader.readexactly(40_000) == payload[:40_000]
        assert len(sink.received) == 40_000
        proxy.release()
        assert await reader.readexactly(60_000) == payload[40_000:]
        writer.close()
    assert bytes(sink.received) == payload


async def test_stall_for_a_time_then_continues(sink: Sink) -> None:
    payload = os.urandom(10_000)
    async with FaultProxy((LOOPBACK, sink.port)) as proxy:
        proxy.inject(Fault(stall_upstream_after=5_000, stall_seconds=0.3))
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        writer.write(payload)
        await writer.drain()
        # A read timeout shorter than the stall fires, as a client's would.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readexactly(len(payload)), 0.1)
        # After the stall every byte arrives, in order.
        assert await reader.readexactly(len(payload)) == payload
        writer.close()
    assert bytes(sink.received) == payload


async def test_bandwidth_limit_slows_the_transfer(sink: Sink) -> None:
    payload = os.urandom(100_000)
    rate = 250_000  # bytes/s: 100 kB each way takes at least 0.4 s in total
    async with FaultProxy((LOOPBACK, sink.port), fault=Fault(bytes_per_second=rate)) as proxy:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        writer.write(payload)
        await writer.drain()
        assert await reader.readexactly(len(payload)) == payload
        elapsed = time.monotonic() - started
        writer.close()
    # A lower bound only: the limiter can never be faster than its rate.
    assert elapsed >= len(payload) / rate


async def test_reset_during_the_response_sends_rst() -> None:
    body = os.urandom(2_000_000)

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/big", big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with FaultProxy(f"http://{LOOPBACK}:{port}/big") as proxy:
            proxy.inject(Fault(reset_downstream_after=50_000))
            # Raw socket: the RST shows as ECONNRESET, not as a clean end of stream.
            reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
            writer.write(f"GET /big HTTP/1.1\r\nHost: {LOOPBACK}:{proxy.port}\r\n\r\n".encode())
            await writer.drain()
            received = bytearray()
            with pytest.raises(ConnectionResetError):
                await _read_all(reader, received)
            writer.close()
            assert len(received) <= 50_000
            assert received.startswith(b"HTTP/1.1 200")
            # Through aiohttp the reset is a client error; the next request is fine.
            async with aiohttp.ClientSession() as session:
                proxy.inject(Fault(reset_downstream_after=50_000))
                with pytest.raises(aiohttp.ClientError):
                    async with session.get(proxy.url) as response:
                        await response.read()
                async with session.get(proxy.url) as response:
                    data = await response.read()
            assert hashlib.sha256(data).digest() == hashlib.sha256(body).digest()
    finally:
        await runner.cleanup()


async def test_refuses_a_non_loopback_upstream() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(("192.0.2.1", 80))


async def test_url_keeps_the_path_with_the_proxy_port(sink: Sink) -> None:
    async with FaultProxy(f"http://{LOOPBACK}:{sink.port}/uploads") as proxy:
        assert proxy.url == f"http://{LOOPBACK}:{proxy.port}/uploads"


async def test_answer_status_replies_without_forwarding(sink: Sink) -> None:
    async with FaultProxy((LOOPBACK, sink.port)) as proxy:
        proxy.inject(Fault(answer_status=503))
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        writer.write(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        await writer.drain()
        reply = await reader.read()
        writer.close()
    assert reply.startswith(b"HTTP/1.1 503 ")
    assert b"Connection: close" in reply
    assert sink.received == b""


async def test_break_all_resets_open_connections_and_faults_new_ones(sink: Sink) -> None:
    async with FaultProxy((LOOPBACK, sink.port)) as proxy:
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        assert await _send_and_read(reader, writer, b"ping") == b"ping"
        proxy.break_all(Fault(cut_upstream_after=0))
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await _send_and_read(reader, writer, b"more")
        writer.close()
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        writer.write(b"hello")
        assert await reader.read(5) == b""  # the new connection is cut at once
        writer.close()
        proxy.break_all(None)
        reader, writer = await asyncio.open_connection(LOOPBACK, proxy.port)
        assert await _send_and_read(reader, writer, b"back") == b"back"
        writer.close()
