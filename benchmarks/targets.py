"""Issue 7's targets, and issue 24's against tusd, judged from one run's figures, as a
Markdown table.

Why a script: a run has 24 large-upload cells and the comparisons behind "fastest for
every peer" are easy to get wrong by eye (a README once claimed a cell its own table
contradicted). Each row names tuskit's figure, the best peer's, their ratio and, for the
large uploads, in how many rounds tuskit was ahead of that peer (rounds run the pairs
alternately, so round i of one cell and round i of another ran minutes apart at most).

    python -m benchmarks.targets benchmarks/runs/<run>.json [...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.markdown import table
from benchmarks.modes import MODES
from benchmarks.servers import TUSKIT, is_tuskit, tuskit_workers
from integration_tests.peers.drivers import PeerServer

# TUSKIT names tuskit's server and, in the benchmark's client list, its client alike.
NODE_SERVER = str(PeerServer.TUS_NODE_SERVER)
TUSD = str(PeerServer.TUSD)
#: Issue 24 judges small uploads against tusd with tuskit-server as this many workers.
TUSD_SMALL_WORKERS = 2
RAW_FRACTION = 0.8
SMALL_FACTOR = 1.5
RSS_LIMIT = 80 * 2**20
LOADED_FRACTION = 0.7

Row = list[str]


def _mb_s(cell: dict[str, Any] | None) -> float | None:
    return None if cell is None else cell.get("mb_s")


def _rounds(cell: dict[str, Any]) -> list[float | None]:
    return [run["mb_s"] if run.get("ok") else None for run in cell.get("runs", [])]


def _rounds_ahead(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    pairs = [(a, b) for a, b in zip(_rounds(ours), _rounds(theirs), strict=False) if a and b]
    return f"{sum(a > b for a, b in pairs)} of {len(pairs)}"


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def _pair(
    data: dict[str, Any], mode: str, vary: str, name: str, fixed: str
) -> dict[str, Any] | None:
    """The cell of ``name`` (a server if ``vary == "server"``, else a client) with ``fixed``."""
    server, client = (name, fixed) if vary == "server" else (fixed, name)
    found: dict[str, Any] | None = data.get("large", {}).get(mode, {}).get(server, {}).get(client)
    return found


def _fastest_rows(data: dict[str, Any], *, vary: str, label: str) -> list[Row]:
    """tuskit against every peer in each peer's column (``vary="server"``: tuskit-server for
    each peer client) or row (``vary="client"``: tuskit-client against each peer server)."""
    candidates = data["servers"] if vary == "server" else data["clients"]
    fixed_names = data["clients"] if vary == "server" else data["servers"]
    rows: list[Row] = []
    for mode, title in MODES.items():
        for fixed in (name for name in fixed_names if name != TUSKIT):
            ours = _pair(data, mode, vary, TUSKIT, fixed)
            peers = [
                (name, found)
                for name in candidates
                if name != TUSKIT
                and (found := _pair(data, mode, vary, name, fixed)) is not None
                and _mb_s(found)
            ]
            mine = None if ours is None else _mb_s(ours)
            target = f"{label} {fixed}, {title}"
            if ours is None or not peers:
                if mine is not None:  # every peer failed where tuskit succeeded
                    rows.append([target, f"{mine:.0f} MB/s", "none succeeded", "-", "-", "met"])
                continue  # not run, or nobody could (aiohttp-tus refuses 1 GiB at once)
            best_name, best = max(peers, key=lambda pair: float(pair[1]["mb_s"]))
            if mine is None:
                against = f"{best_name} {best['mb_s']:.0f}"
                rows.append([target, "failed", against, "-", "-", _verdict(False)])
                continue
            rows.append(
                [
                    target,
                    f"{mine:.0f} MB/s",
                    f"{best_name} {best['mb_s']:.0f}",
                    f"{mine / best['mb_s']:.2f}",
                    _rounds_ahead(ours, best),
                    _verdict(mine > best["mb_s"]),
                ]
            )
    return rows


def _raw_rows(data: dict[str, Any]) -> list[Row]:
    raw = data.get("raw", {}).get("mb_s")
    rows: list[Row] = []
    for mode, title in MODES.items():
        mine = _mb_s(data.get("large", {}).get(mode, {}).get(TUSKIT, {}).get(TUSKIT))
        if mine is None or not raw:
            continue
        rows.append(
            [
                f"tuskit → tuskit ≥ {RAW_FRACTION} of raw, {title}",
                f"{mine:.0f} MB/s",
                f"raw {raw:.0f}",
                f"{mine / raw:.2f}",
                "-",
                _verdict(mine >= RAW_FRACTION * raw),
            ]
        )
    return rows


def _small_rows(data: dict[str, Any]) -> list[Row]:
    """Judged by tuskit's best form (``--workers`` is a documented way to run it); the
    others are named beside it."""
    small = data.get("small", {})
    node = small.get(NODE_SERVER, {}).get("uploads_per_s")
    ours = {
        server: cell["uploads_per_s"]
        for server, cell in small.items()
        if is_tuskit(server) and cell.get("uploads_per_s")
    }
    if not node or not ours:
        return []
    best = max(ours, key=lambda server: float(ours[server]))
    others = "".join(f"; {name}: {rate:.0f}/s" for name, rate in ours.items() if name != best)
    ratio = ours[best] / node
    return [
        [
            f"small uploads ≥ {SMALL_FACTOR}× {NODE_SERVER}",
            f"{ours[best]:.0f}/s ({best}{others})",
            f"{NODE_SERVER} {node:.0f}",
            f"{ratio:.2f}",
            "-",
            _verdict(ratio >= SMALL_FACTOR),
        ]
    ]


def _tusd_large_rows(data: dict[str, Any]) -> list[Row]:
    """Issue 24: tuskit-server at least as fast as tusd for every peer client, per mode."""
    rows: list[Row] = []
    for mode, title in MODES.items():
        for client in (name for name in data["clients"] if name != TUSKIT):
            ours = _pair(data, mode, "server", TUSKIT, client)
            theirs = _pair(data, mode, "server", TUSD, client)
            if ours is None or theirs is None:
                continue  # not run
            mine, tusd = _mb_s(ours), _mb_s(theirs)
            target = f"tuskit-server ≥ {TUSD} for {client}, {title}"
            shown = "failed" if mine is None else f"{mine:.0f} MB/s"
            if not tusd:
                rows.append([target, shown, f"{TUSD} failed", "-", "-", _verdict(mine is not None)])
            elif mine is None:
                rows.append([target, shown, f"{TUSD} {tusd:.0f}", "-", "-", _verdict(False)])
            else:
                ahead = _rounds_ahead(ours, theirs)
                ratio = f"{mine / tusd:.2f}"
                rows.append(
                    [target, shown, f"{TUSD} {tusd:.0f}", ratio, ahead, _verdict(mine >= tusd)]
                )
    return rows


def _tusd_small_rows(data: dict[str, Any]) -> list[Row]:
    """Issue 24: tuskit-server with ``--workers 2`` takes at least tusd's 4 KiB uploads/s."""
    small = data.get("small", {})
    name = tuskit_workers(TUSD_SMALL_WORKERS)
    tusd = small.get(TUSD, {}).get("uploads_per_s")
    if not tusd or name not in small:
        return []
    ours = small[name].get("uploads_per_s")
    target = f"small uploads ≥ {TUSD} ({name})"
    if not ours:
        return [[target, "failed", f"{TUSD} {tusd:.0f}", "-", "-", _verdict(False)]]
    ratio = ours / tusd
    return [
        [target, f"{ours:.0f}/s", f"{TUSD} {tusd:.0f}", f"{ratio:.2f}", "-", _verdict(ratio >= 1)]
    ]


def _rss_rows(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for side in ("server", "client"):
        peaks = [
            run[f"{side}_rss"]
            for row_server, row in _all_cells(data)
            for client, cell in row.items()
            if (row_server if side == "server" else client) == TUSKIT
            for run in cell.get("runs", [])
            if run.get("ok") and run.get(f"{side}_rss")
        ]
        if not peaks:
            continue
        peak = max(peaks)
        rows.append(
            [
                f"peak RSS of tuskit's {side} < {RSS_LIMIT // 2**20} MiB",
                f"{peak / 2**20:.0f} MiB",
                "-",
                "-",
                "-",
                _verdict(peak < RSS_LIMIT),
            ]
        )
    return rows


def _all_cells(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    large = data.get("large", {})
    return [(server, row) for cells in large.values() for server, row in cells.items()]


def _loaded_rows(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for entry in data.get("loaded", []):
        if entry["server"] != TUSKIT or not entry.get("unloaded_mb_s"):
            continue
        loaded = entry.get("mb_s")
        ratio = 0.0 if loaded is None else loaded / entry["unloaded_mb_s"]
        rows.append(
            [
                f"≥ {LOADED_FRACTION} of unloaded with {entry['open']} slow uploads, "
                f"{MODES[entry['mode']]}",
                "failed" if loaded is None else f"{loaded:.0f} MB/s",
                f"unloaded {entry['unloaded_mb_s']:.0f}",
                f"{ratio:.2f}",
                "-",
                _verdict(ratio >= LOADED_FRACTION),
            ]
        )
    return rows


def targets_table(data: dict[str, Any]) -> str:
    """Every target of issues 7 and 24 (tusd) that this run's figures can judge, one row
    each."""
    rows = _raw_rows(data)
    rows += _fastest_rows(data, vary="server", label="tuskit-server fastest for")
    rows += _fastest_rows(data, vary="client", label="tuskit-client fastest against")
    rows += _small_rows(data) + _rss_rows(data) + _loaded_rows(data)
    rows += _tusd_large_rows(data) + _tusd_small_rows(data)
    header = ["target", "tuskit", "best other", "ratio", "rounds ahead", ""]
    met = sum(row[-1] == "met" for row in rows)
    heading = f"\n**Targets of issues 7 and 24** ({met} of {len(rows)} met)\n\n"
    return heading + table(header, rows)


def main(paths: list[str]) -> None:
    for path in paths:
        data = json.loads(Path(path).read_text())
        print(f"{path} ({data['date']})")
        print(targets_table(data))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
