"""Fixtures: a tuskit server in a thread, a resume store and source files per test."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tus_cli_testing import ThreadServer, serve_in_thread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    with serve_in_thread(tmp_path / "uploads") as running:
        yield running


@pytest.fixture(autouse=True)
def resume_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's resume store out of the real user cache directory."""
    store = tmp_path / "resume.json"
    monkeypatch.setenv("TUSKIT_RESUME_STORE", str(store))
    return store


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(300_000))
    return path
