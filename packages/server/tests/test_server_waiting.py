"""The wait of a poured body's thread for more data: a short spin while data comes densely,
``poll()`` otherwise, never a spin for a slow client, and the stop signal and the idle
timeout honoured."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tuskit_server._kernel_copy import socket_waiter as _waiting
from tuskit_server._kernel_copy.socket_waiter import SocketWaiter
from tuskit_server._kernel_copy.stop_signal import StopSignal

IDLE = 0.2


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected pair; the waited-on end is non-blocking like aiohttp's."""
    sender, receiver = socket.socketpair()
    receiver.setblocking(False)
    yield sender, receiver
    sender.close()
    receiver.close()


@pytest.fixture
def stop() -> Iterator[StopSignal]:
    signal = StopSignal()
    yield signal
    signal.close()


def _spins_before_sleeping(waiter: SocketWaiter) -> int:
    """Call :meth:`SocketWaiter.wait` on an empty socket until it has slept in ``poll()`` for
    the idle timeout (it then says False): how many times it said "read again" before."""
    spins = 0
    while waiter.wait():
        spins += 1
    return spins


def test_spins_then_sleeps_until_the_idle_timeout(
    pair: tuple[socket.socket, socket.socket], stop: StopSignal
) -> None:
    _, receiver = pair
    waiter = SocketWaiter(receiver.fileno(), stop, IDLE)
    started = time.monotonic()
    assert _spins_before_sleeping(waiter) > 0
    assert time.monotonic() - started >= IDLE


def test_a_slow_client_is_not_spun_for(
    pair: tuple[socket.socket, socket.socket], stop: StopSignal
) -> None:
    sender, receiver = pair
    waiter = SocketWaiter(receiver.fileno(), stop, IDLE)
    _spins_before_sleeping(waiter)  # slept the whole idle timeout
    timer = threading.Timer(0.02, sender.send, (b"x",))  # a gap over _DENSE_GAP
    timer.start()
    try:
        assert waiter.wait() is True  # poll() reports the data
    finally:
        timer.join()
    receiver.recv(1)
    waiter.moved()
    # data came only after a long sleep: the empty socket is slept on at once
    assert _spins_before_sleeping(waiter) == 0


def test_spinning_resumes_once_data_comes_quickly(
    pair: tuple[socket.socket, socket.socket], stop: StopSignal, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, receiver = pair
    waiter = SocketWaiter(receiver.fileno(), stop, IDLE)
    _spins_before_sleeping(waiter)  # slow: no spinning now
    monkeypatch.setattr(_waiting, "_DENSE_GAP", 1.0)  # "quickly", however loaded the machine
    sender.send(b"x")
    assert waiter.wait() is True  # poll() returns at once: data comes densely again
    receiver.recv(1)
    waiter.moved()
    assert _spins_before_sleeping(waiter) > 0


def test_stop_wakes_a_sleeping_waiter(
    pair: tuple[socket.socket, socket.socket], stop: StopSignal
) -> None:
    _, receiver = pair
    waiter = SocketWaiter(receiver.fileno(), stop, 10.0)
    timer = threading.Timer(0.05, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        while not stop.requested:
            assert waiter.wait() is True
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5.0
