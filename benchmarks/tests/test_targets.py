"""The targets table judges each of issue 7's targets from a run's figures."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.targets import targets_table

MiB = 2**20


def _cell(rounds: list[float | None], rss: int = 50 * MiB) -> dict[str, Any]:
    """A large-upload cell as the benchmark writes it; None is a failed round."""
    runs = [
        {"ok": mb_s is not None, "mb_s": mb_s, "server_rss": rss, "client_rss": rss}
        for mb_s in rounds
    ]
    good = [mb_s for mb_s in rounds if mb_s is not None]
    return {"mb_s": statistics.median(good) if good else None, "runs": runs}


def _run(large: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "servers": ["tuskit", "@tus/server", "tuspyserver"],
        "clients": ["tuskit", "tus-js-client"],
        "raw": {"mb_s": 1000.0},
        "large": large,
        "small": {},
        "loaded": [],
    }
    data.update(extra)
    return data


def _rows(table: str) -> dict[str, list[str]]:
    """Table rows by target, each as its cells."""
    rows = {}
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith("| target"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_tuskit_server_ahead_and_behind_per_peer_client() -> None:
    large = {
        "single": {
            "tuskit": {"tuskit": _cell([900, 800, 850]), "tus-js-client": _cell([500, 400, 450])},
            "@tus/server": {
                "tuskit": _cell([300, 310, 320]),
                "tus-js-client": _cell([480, 300, 470]),
            },
            "tuspyserver": {
                "tuskit": _cell([600, 500, 550]),
                "tus-js-client": _cell([None, None, None]),
            },
        }
    }
    rows = _rows(targets_table(_run(large)))
    behind = rows["tuskit-server fastest for tus-js-client, one request"]
    assert behind == ["450 MB/s", "@tus/server 470", "0.96", "2 of 3", "**not met**"]
    # tuspyserver failed every round: not a competitor; the tuskit client is no peer client.
    assert not any("fastest for tuskit," in target for target in rows)
    alone = rows["tuskit-client fastest against tuspyserver, one request"]
    assert alone == ["550 MB/s", "none succeeded", "-", "-", "met"]
    against_node = rows["tuskit-client fastest against @tus/server, one request"]
    assert against_node == ["310 MB/s", "tus-js-client 470", "0.66", "1 of 3", "**not met**"]


def test_a_failed_tuskit_cell_is_not_met() -> None:
    large = {
        "chunked": {
            "tuskit": {"tus-js-client": _cell([None, None, None])},
            "@tus/server": {"tus-js-client": _cell([100, 100, 100])},
        }
    }
    rows = _rows(targets_table(_run(large)))
    assert rows["tuskit-server fastest for tus-js-client, 8 MiB chunks"][0] == "failed"
    assert rows["tuskit-server fastest for tus-js-client, 8 MiB chunks"][-1] == "**not met**"


def test_raw_fraction_rss_small_and_loaded() -> None:
    large = {
        "single": {"tuskit": {"tuskit": _cell([800, 800, 800], rss=81 * MiB)}},
        "chunked": {"tuskit": {"tuskit": _cell([790, 790, 790])}},
    }
    small = {
        "tuskit": {"uploads_per_s": 900.0},
        "tuskit --workers 2": {"uploads_per_s": 1600.0},
        "@tus/server": {"uploads_per_s": 1000.0},
    }
    loaded = [
        {"server": "tuskit", "mode": "single", "open": 500, "unloaded_mb_s": 800.0, "mb_s": 560.0},
        {"server": "tuskit", "mode": "chunked", "open": 500, "unloaded_mb_s": 790.0, "mb_s": None},
    ]
    table = targets_table(_run(large, small=small, loaded=loaded))
    rows = _rows(table)
    assert rows["tuskit → tuskit ≥ 0.8 of raw, one request"][-1] == "met"  # exactly 0.8
    assert rows["tuskit → tuskit ≥ 0.8 of raw, 8 MiB chunks"][-1] == "**not met**"
    assert rows["peak RSS of tuskit's server < 80 MiB"] == ["81 MiB", "-", "-", "-", "**not met**"]
    assert rows["small uploads ≥ 1.5× @tus/server"] == [
        "1600/s (tuskit --workers 2; tuskit: 900/s)",
        "@tus/server 1000",
        "1.60",
        "-",
        "met",
    ]
    assert rows["≥ 0.7 of unloaded with 500 slow uploads, one request"][-1] == "met"
    assert rows["≥ 0.7 of unloaded with 500 slow uploads, 8 MiB chunks"][0] == "failed"
    assert rows["peak RSS of tuskit's client < 80 MiB"][0] == "81 MiB"
    assert "(3 of 7 met)" in table


def test_tusd_rows_per_peer_client_and_small_uploads() -> None:
    """Issue 24: tuskit-server against tusd alone, for each peer client and mode (a tie
    meets "at least as fast"), and ``--workers 2`` against tusd's small uploads."""
    large = {
        "single": {
            "tuskit": {"tuskit": _cell([900, 900, 900]), "tus-js-client": _cell([500, 400, 450])},
            "tusd": {"tuskit": _cell([990, 990, 990]), "tus-js-client": _cell([450, 450, 460])},
        },
        "chunked": {
            "tuskit": {"tus-js-client": _cell([None, None, None])},
            "tusd": {"tus-js-client": _cell([300, 300, 300])},
        },
    }
    small = {
        "tuskit": {"uploads_per_s": 900.0},
        "tuskit --workers 2": {"uploads_per_s": 1500.0},
        "tusd": {"uploads_per_s": 2000.0},
    }
    data = _run(large, small=small, servers=["tuskit", "tusd"])
    rows = _rows(targets_table(data))
    tie = rows["tuskit-server ≥ tusd for tus-js-client, one request"]
    assert tie == ["450 MB/s", "tusd 450", "1.00", "1 of 3", "met"]
    failed = rows["tuskit-server ≥ tusd for tus-js-client, 8 MiB chunks"]
    assert failed == ["failed", "tusd 300", "-", "-", "**not met**"]
    # The tuskit client is no peer client: its faster tusd cell sets no target.
    assert not any(target.startswith("tuskit-server ≥ tusd for tuskit") for target in rows)
    small_row = rows["small uploads ≥ tusd (tuskit --workers 2)"]
    assert small_row == ["1500/s", "tusd 2000", "0.75", "-", "**not met**"]
