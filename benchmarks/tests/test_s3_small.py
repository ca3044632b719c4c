"""How the S3 benchmark splits the 4 KiB load over instances and makes one figure of it."""

from __future__ import annotations

import pytest

from benchmarks.s3_small import combine, render, shares


def _result(
    uploads: int, seconds: float, p50: float, p99: float, errors: int = 0
) -> dict[str, object]:
    return {
        "uploads": uploads,
        "errors": errors,
        "seconds": seconds,
        "uploads_per_s": uploads / seconds,
        "p50_ms": p50,
        "p99_ms": p99,
        "first_error": "PATCH 500 b''" if errors else None,
    }


def test_shares_split_evenly_and_add_up() -> None:
    assert shares(3000, 2) == [1500, 1500]
    assert shares(101, 2) == [51, 50]
    assert shares(32, 1) == [32]
    assert sum(shares(7, 3)) == 7


def test_shares_refuse_no_parts() -> None:
    with pytest.raises(ValueError, match="0 parts"):
        shares(10, 0)


def test_combined_rate_is_all_uploads_over_the_longer_wall_time() -> None:
    combined = combine([_result(1500, 10.0, 300, 900), _result(1498, 12.5, 350, 800, errors=2)])
    assert combined["uploads"] == 2998
    assert combined["seconds"] == 12.5
    assert combined["uploads_per_s"] == pytest.approx(2998 / 12.5)
    assert combined["errors"] == 2
    assert combined["first_error"] == "PATCH 500 b''"
    assert (combined["p50_ms"], combined["p99_ms"]) == (350, 900)
    assert combined["processes"] == 2


def test_one_result_combines_to_itself() -> None:
    one = _result(500, 5.0, 20, 40)
    combined = combine([one])
    assert {k: combined[k] for k in one} == one


def test_combining_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no load results"):
        combine([])


def test_render_shows_the_measured_rows_only() -> None:
    data = {
        "small": combine([_result(510, 10.0, 611, 900)]),
        "small_redis_two": {"uploads_per_s": None, "error": "load exited 1"},
    }
    lines = render(data)
    assert "| tuskit-server on S3Store, one process | 51 | 611 | 900 | 0 |" in lines
    assert any(
        line.startswith("| `tus serve`, Redis locker, two") and "load exited 1" in line
        for line in lines
    )
    assert not any("one instance" in line for line in lines)
