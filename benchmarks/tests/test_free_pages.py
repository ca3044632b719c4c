"""Free page reporting is held back for the run and restored after, or left alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import free_pages


def test_held_during_the_block_and_restored_after(page_reporting: Callable[..., Path]) -> None:
    folder = page_reporting()
    with free_pages.held(folder) as note:
        assert (folder / "min_free_ms").read_text() == str(free_pages.HOLD_MS)
        assert (folder / "max_waiting_mib").read_text() == str(free_pages.HOLD_MIB)
        assert "held back" in note
        assert f"min_free_ms 0 → {free_pages.HOLD_MS}" in note
    assert (folder / "min_free_ms").read_text() == "0"
    assert (folder / "max_waiting_mib").read_text() == "1024"


def test_restored_when_the_run_fails(page_reporting: Callable[..., Path]) -> None:
    folder = page_reporting(wait="5")
    with pytest.raises(RuntimeError), free_pages.held(folder):
        raise RuntimeError("a server did not start")
    assert (folder / "min_free_ms").read_text() == "5"


def test_a_larger_waiting_allowance_is_kept(page_reporting: Callable[..., Path]) -> None:
    folder = page_reporting(most="20000")
    with free_pages.held(folder):
        assert (folder / "max_waiting_mib").read_text() == "20000"


def test_nothing_to_hold(tmp_path: Path) -> None:
    with free_pages.held(tmp_path / "absent") as note:
        assert note == "no free page reporting on this machine"
    plain = tmp_path / "upstream"
    plain.mkdir()
    (plain / "page_reporting_order").write_text("9\n")
    with free_pages.held(plain) as note:
        assert "cannot delay it" in note
    assert sorted(p.name for p in plain.iterdir()) == ["page_reporting_order"]


def test_a_refused_write_changes_nothing(
    page_reporting: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = page_reporting()
    real_write = Path.write_text

    def refuse_second(self: Path, text: str, *args: object, **kwargs: object) -> int:
        if self.name == "max_waiting_mib" and text != "1024":
            raise PermissionError(13, "Permission denied")
        return real_write(self, text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", refuse_second)
    with free_pages.held(folder) as note:
        assert "cannot change it: Permission denied" in note
        assert (folder / "min_free_ms").read_text() == "0"
    assert (folder / "min_free_ms").read_text() == "0"
