"""Serving helpers: the settings several workers share, and the sockets they listen on."""

import socket
import subprocess
import sys
import urllib.error
import urllib.request
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


def test_worker_settings_keep_a_locker_the_workers_share(tmp_path: Path) -> None:
    shared = FileLocker(tmp_path / "elsewhere.locks")  # as a RedisLocker would be given
    with worker_settings({"upload_path": tmp_path, "locker": shared}) as settings:
        assert settings["locker"] is shared
        assert not (tmp_path / ".tuskit.locks").exists()  # no lock file of their own
        assert Extension.CONCATENATION_UNFINISHED not in settings["extensions"]


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
    program = (
        "import sys\nfrom tuskit_server import serve\n"
        "sys.exit(serve(upload_path=sys.argv[1], port=0, workers=2))"
    )
    argv = [sys.executable, "-c", program, str(blocker / "uploads")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "failed" in done.stderr
    assert "tus endpoint" not in done.stdout


#: ``python -m tuskit_server`` as on an install without the metrics extra
WITHOUT_PROMETHEUS = (
    "import sys\n"
    "sys.modules['prometheus_client'] = None  # import prometheus_client fails\n"
    "from tuskit_server.__main__ import main\n"
    "main(sys.argv[1:])"
)


def test_without_the_metrics_extra_the_default_server_leaves_metrics_out(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", WITHOUT_PROMETHEUS, "--storage", str(tmp_path), "--port", "0"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as run:
        assert run.stdout is not None
        assert run.stderr is not None
        try:
            url = run.stdout.readline().strip()
            root = url.removesuffix("/files/")
            with urllib.request.urlopen(root + "/healthz", timeout=30) as answer:
                assert answer.status == 200
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(root + "/metrics", timeout=30)
            missing.value.close()
            assert missing.value.code == 404
        finally:
            run.terminate()
            run.wait(60)
        notes = [line for line in run.stderr.read().splitlines() if line.startswith("note:")]
    assert notes == [
        "note: no metrics: metrics need prometheus-client: "
        "pip install 'tuskit-server[metrics]', or pass --no-metrics"
    ]
    asked = subprocess.run(
        [*argv, "--metrics"], capture_output=True, text=True, timeout=60, check=False
    )
    assert asked.returncode == 1
    assert asked.stderr.startswith("error: metrics need prometheus-client: pip install")
