"""The public surface: a sorted, complete __all__; the command-line entry point."""

import subprocess
import sys

import tuskit_server
from tuskit_server.__main__ import main


def _ruf022(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2), name


def test_all_is_sorted_and_complete() -> None:
    exported = tuskit_server.__all__
    assert exported == sorted(exported, key=_ruf022)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(tuskit_server, name), name
    assert {"setup_tus", "get_tus", "create_app", "FileStore", "Hooks"} <= set(exported)


def test_public_names_are_exported() -> None:
    public = {n for n in vars(tuskit_server) if not n.startswith("_")}
    modules = {"errors", "handlers", "hooks", "locks", "log", "stores"}
    modules |= {"access_log", "command", "health", "launch", "metrics", "settings"}
    modules |= {"file_hooks", "hook_events", "http_hooks"}
    assert public - set(tuskit_server.__all__) <= modules


def test_main_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tuskit_server", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--storage" in out.stdout
    assert "--port" in out.stdout


def test_main_rejects_bad_port() -> None:
    import pytest

    with pytest.raises(SystemExit):
        main(["--port", "notanumber"])


def test_the_core_runs_without_the_metrics_extra() -> None:
    probe = (
        "import sys, tuskit_server, tuskit_server.launch, tuskit_server.command\n"
        "print('prometheus_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
