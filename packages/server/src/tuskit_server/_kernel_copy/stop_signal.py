"""A stop request for a worker thread that waits in ``poll()``: set from any thread, seen at once.

A thread pouring a body with ``splice`` sleeps in ``poll()`` on its socket and must wake
when the request is interrupted (another request for the upload), the server shuts down or
the task is cancelled, while the connection itself may still be answered. Registering
:meth:`StopSignal.fileno` next to the socket does that. Linux only (``eventfd``), like
``splice``.
"""

import os
import threading

__all__ = ["StopSignal"]


class StopSignal:
    """A flag plus an ``eventfd`` that becomes readable when the flag is set.

    The owner (the worker thread) closes it with :meth:`close` when it is done; :meth:`set`
    afterwards only sets the flag.
    """

    def __init__(self) -> None:
        self.requested = False
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._closed = False
        self._guard = threading.Lock()

    def fileno(self) -> int:
        """The descriptor to poll for ``POLLIN``."""
        return self._fd

    def set(self) -> None:
        """Ask the thread to stop (any thread, any number of times)."""
        self.requested = True
        with self._guard:
            if not self._closed:
                os.eventfd_write(self._fd, 1)

    def close(self) -> None:
        """Release the descriptor (by the thread that polled it)."""
        with self._guard:
            if not self._closed:
                self._closed = True
                os.close(self._fd)
