"""Serving helpers: the settings several workers share, and the sockets they listen on."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tuskit_common import Extension
from tuskit_server import FileLocker, MemoryLocker, serve
from tuskit_server._serving import bind_shared, worker_settings


def test_worker_settings_share_one_lock_file_that_goes_with_them(tmp_path: Path) -> None:
    given = {"upload_path": tmp_path, "max_size": 10}
    with worker_settings(given) as settings:
        locker = settings["locker"]
        assert isinstance(locker, FileLocker)
        assert locker.path == tmp_path / ".tuskit.locks"  # never left behind in /tmp
        assert locker.path.exists()
        assert settings["upload_path"] == tmp_path
        assert settings["max_size"] == 10
        assert Extension.CONCATENATION in settings["extensions"]
        assert Extension.CONCATENATION_UNFINISHED not in settings["extensions"]
    assert not locker.path.exists()
    assert "locker" not in given  # the caller's options are left alone


def test_worker_settings_refuse_what_one_process_must_do(tmp_path: Path) -> None:
    wanted = {"upload_path": tmp_path, "extensions": list(Extension)}
    with pytest.raises(ValueError, match="concatenation-unfinished"):
        worker_settings(wanted).__enter__()
    with pytest.raises(ValueError, match="locker"):
        worker_settings({"upload_path": tmp_path, "locker": MemoryLocker()}).__enter__()


def test_workers_below_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        serve(upload_path=tmp_path, port=0, workers=0)


def test_workers_reserve_a_port_they_can_all_bind() -> None:
    reserve = bind_shared("127.0.0.1", 0)
    port = reserve.getsockname()[1]
    first = bind_shared("127.0.0.1", port)
    second = bind_shared("127.0.0.1", port)
    try:
        for sock in (first, second):
            sock.listen(8)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        for sock in (reserve, first, second):
            sock.close()


def test_workers_that_cannot_start_stop_the_server(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # the upload directory cannot be created under a file
    argv = [sys.executable, "-m", "tuskit_server", "--dir", str(blocker / "uploads")]
    argv += ["--port", "0", "--workers", "2"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "failed" in done.stderr
    assert "tus endpoint" not in done.stdout
