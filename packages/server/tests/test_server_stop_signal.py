"""StopSignal: a poll() on its descriptor wakes once it is set, from any thread."""

import os
import select
import threading

import pytest

from tuskit_server._kernel_copy.stop_signal import StopSignal

pytestmark = pytest.mark.skipif(not hasattr(os, "eventfd"), reason="eventfd is Linux-only")


def test_set_from_another_thread_wakes_a_poll() -> None:
    signal = StopSignal()
    poller = select.poll()
    poller.register(signal.fileno(), select.POLLIN)
    assert poller.poll(0) == []
    threading.Timer(0.05, signal.set).start()
    assert poller.poll(5000)  # woken, not timed out
    assert signal.requested
    signal.close()


def test_set_after_close_only_sets_the_flag() -> None:
    signal = StopSignal()
    signal.close()
    signal.close()
    signal.set()
    assert signal.requested
