"""Waiting for a body's socket to have data again, in the thread that moves it: a short
spin, then ``poll()``.

Why: the thread could sleep in ``poll()`` as soon as the socket is empty, but a sleeping
thread lets its CPU go idle and the client's next packet must then wake it; on a virtual
machine that is a halted CPU and an interrupt across CPUs, for every 64 KiB on loopback, and
client and server both wait for it.
While data keeps arriving within microseconds, retrying for a moment costs less CPU than
those wake-ups (figures: benchmarks/README.md, "Trials, kept", 8b92b02).

A client that pauses longer is slow: once a sleep in ``poll()`` lasts over
:data:`_DENSE_GAP`, the waiter sleeps at once, until a sleep ends sooner again, so a slow
upload never keeps a CPU busy.
"""

import select
import time

from tuskit_server._kernel_copy.stop_signal import StopSignal

__all__ = ["SocketWaiter"]

#: The longest a waiter lets the caller retry an empty socket before it sleeps in ``poll()``
#: (25, 50, 100 and 200 us were measured; 200 us slowed tuskit-client's uploads down).
_SPIN_SECONDS = 50e-6
#: A sleep in ``poll()`` longer than this means the client is slow: no spinning until a
#: sleep ends sooner again.
_DENSE_GAP = 0.001


class SocketWaiter:
    """Waits until ``sock`` has data (``POLLIN``) or ``stop`` is set; ``timeout`` (seconds)
    bounds one sleep in ``poll()``.

    In the thread that reads the non-blocking socket: on ``BlockingIOError`` call
    :meth:`wait` and read again if it returns True; after each successful read call
    :meth:`moved`.
    """

    def __init__(self, sock: int, stop: StopSignal, timeout: float) -> None:
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        self._poller.register(stop.fileno(), select.POLLIN)
        self._timeout_ms = max(int(timeout * 1000), 1)
        self._dense = True
        self._spin_until = 0.0

    def moved(self) -> None:
        """Data came: the next empty socket starts a new spin."""
        self._spin_until = 0.0

    def wait(self) -> bool:
        """Whether to read again: at once while spinning, else once ``poll()`` reports the
        socket (or the stop signal); False when the timeout passed first."""
        now = time.monotonic()
        if self._dense:
            if not self._spin_until:
                self._spin_until = now + _SPIN_SECONDS
            if now < self._spin_until:
                return True
        self._spin_until = 0.0
        ready = bool(self._poller.poll(self._timeout_ms))
        self._dense = time.monotonic() - now < _DENSE_GAP
        return ready
