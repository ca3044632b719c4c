"""Shared set-up for the benchmark's own tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def page_reporting(tmp_path: Path) -> Callable[..., Path]:
    """Makes a stand-in for ``/sys/module/page_reporting/parameters`` with given values."""

    def make(wait: str = "0", most: str = "1024") -> Path:
        folder = tmp_path / "parameters"
        folder.mkdir()
        (folder / "min_free_ms").write_text(f"{wait}\n")
        (folder / "max_waiting_mib").write_text(f"{most}\n")
        return folder

    return make
