"""tus 1.0.0 conformance of tuskit-server, over raw HTTP: one test per MUST / SHOULD.

The cases (:data:`integration_tests.conformance.CASES`) run against ``python -m
tuskit_server`` on a free loopback port, through the ``api`` fixture of ``conftest.py`` on
this module's ``endpoint``; ``peers/test_conformance_tusd.py`` runs them against tusd.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_tests.conformance import CASES, MAX_SIZE, Api
from integration_tests.harness import HttpProbe, free_port, running_server


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One tuskit-server for the whole table: every case works on uploads of its own."""
    base = tmp_path_factory.mktemp("conformance")
    port = free_port()
    url = f"http://127.0.0.1:{port}/uploads"
    argv = [
        sys.executable,
        "-m",
        "tuskit_server",
        "--storage",
        str(base / "store"),
        "--base-path",
        "/uploads",
        "--port",
        str(port),
        "--max-size",
        str(MAX_SIZE),
    ]
    with running_server(argv, ready=HttpProbe(url), log_dir=Path(base)) as server:
        yield server.url


@pytest.mark.parametrize("name", list(CASES))
async def test_conformance(name: str, api: Api) -> None:
    await CASES[name](api)
