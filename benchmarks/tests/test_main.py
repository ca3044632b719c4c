"""A stopped benchmark run unwinds: SIGTERM becomes SystemExit, so the machine settings
it held are restored and no client process outlives it."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import free_pages
from benchmarks.__main__ import exit_on_sigterm
from benchmarks.clients import _spawn


def _terminated_while_held(folder: Path) -> None:
    with free_pages.held(folder):
        assert (folder / "min_free_ms").read_text() == str(free_pages.HOLD_MS)
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # the handler raises before this returns


def test_sigterm_unwinds_and_restores_free_page_reporting(
    page_reporting: Callable[..., Path],
) -> None:
    folder = page_reporting()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        exit_on_sigterm()
        with pytest.raises(SystemExit) as stopped:
            _terminated_while_held(folder)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert (folder / "min_free_ms").read_text() == "0"
    assert (folder / "max_waiting_mib").read_text() == "1024"


def test_a_stopped_run_takes_its_client_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "client.pid"
    child = (
        f"import os, time; p = {str(pid_file)!r}; open(p + '.tmp', 'w').write(str(os.getpid())); "
        "os.replace(p + '.tmp', p); time.sleep(60)"
    )

    def stop_once_started() -> None:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    stopper = threading.Thread(target=stop_once_started)
    try:
        exit_on_sigterm()
        stopper.start()
        with pytest.raises(SystemExit):
            _spawn([sys.executable, "-c", child], tmp_path, timeout=60)
    finally:
        stopper.join()
        signal.signal(signal.SIGTERM, previous)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not left running
