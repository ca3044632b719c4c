"""Turn the measurements into text tables (Markdown) for the terminal and the README."""

from __future__ import annotations

import re
from typing import Any

from benchmarks.markdown import table
from benchmarks.modes import MODES
from benchmarks.targets import targets_table
from integration_tests.peers.drivers import PeerServer


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f}"


def _short(note: str | None, limit: int = 200) -> str:
    """A failure note for a table footnote: URLs dropped, its end kept (where the status
    and the server's answer are); the JSON keeps all of it."""
    text = " ".join(re.sub(r"https?://\S+", "<url>", str(note)).replace("|", "/").split())
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cpu(cell: dict[str, Any]) -> str:
    """``server / client of wall`` CPU seconds; ``-`` where a figure is missing (older runs)."""
    if cell.get("seconds") is None:
        return "-"
    return (
        f"{_seconds(cell.get('server_cpu'))} / {_seconds(cell.get('client_cpu'))} "
        f"of {cell['seconds']:.2f}"
    )


def large_tables(data: dict[str, Any]) -> str:
    raw = data["raw"]["mb_s"]
    out = [
        f"Raw limit (curl PUT into a plain aiohttp handler): **{raw:.0f} MB/s** "
        f"(server RSS {_mib(data['raw']['server_rss'])} MiB)",
    ]
    clients = data["clients"]
    for mode, title in MODES.items():
        cells = data["large"].get(mode, {})
        rows: list[list[str]] = []
        rss_rows: list[list[str]] = []
        cpu_rows: list[list[str]] = []
        notes: list[str] = []
        for server in data["servers"]:
            row, rss_row, cpu_row = [server], [server], [server]
            for client in clients:
                cell = cells.get(server, {}).get(client)
                if cell is None:
                    row.append("not run")
                    rss_row.append("-")
                    cpu_row.append("-")
                elif cell["mb_s"] is None:
                    notes.append(f"[{len(notes) + 1}] {server} ← {client}: {_short(cell['note'])}")
                    row.append(f"n/a [{len(notes)}]")
                    rss_row.append("-")
                    cpu_row.append("-")
                else:
                    row.append(f"{cell['mb_s']:.0f} ({cell['mb_s'] / raw:.2f})")
                    rss_row.append(f"{_mib(cell['server_rss'])} / {_mib(cell['client_rss'])}")
                    cpu_row.append(_cpu(cell))
            rows.append(row)
            rss_rows.append(rss_row)
            cpu_rows.append(cpu_row)
        out.append(
            f"\n**Large upload, {title}**: median MB/s of {data['reps']} (fraction of raw); "
            "rows are servers, columns clients\n"
        )
        out.append(table(["server \\ client", *clients], rows))
        if notes:
            out.append("\n" + "\n".join(f"- {note}" for note in notes))
        out.append(f"\nPeak RSS, {title}: server / client, MiB\n")
        out.append(table(["server \\ client", *clients], rss_rows))
        out.append(
            f"\nCPU time, {title}: server / client CPU seconds of the upload's wall seconds "
            "(medians; a side near the wall time, or the two summing to near the cores, "
            "set the pace)\n"
        )
        out.append(table(["server \\ client", *clients], cpu_rows))
    return "\n".join(out)


def _server_label(name: str) -> str:
    """A server's name for a table: ``tuskit --workers 2`` reads ``tuskit (--workers 2)``."""
    base, flag, rest = name.partition(" --")
    return f"{base} ({flag.strip()}{rest})" if flag else name


def small_table(data: dict[str, Any]) -> str:
    rows = []
    node = data["small"].get(str(PeerServer.TUS_NODE_SERVER), {}).get("uploads_per_s")
    for server, cell in data["small"].items():
        label = _server_label(server)
        if cell.get("uploads_per_s") is None:
            rows.append([label, "n/a", "-", "-", "-", "-", _short(cell.get("error"))])
            continue
        cpu = cell.get("server_cpu_ms")
        rows.append(
            [
                label,
                f"{cell['uploads_per_s']:.0f}",
                "-" if not node else f"{cell['uploads_per_s'] / node:.2f}",
                f"{cell['p50_ms']:.1f}",
                f"{cell['p99_ms']:.1f}",
                "-" if cpu is None else f"{cpu:.2f}",
                f"{cell['errors']}" + (f" ({cell['first_error']})" if cell["errors"] else ""),
            ]
        )
    head = (
        f"\n**Small uploads**: {data['small_count']} × 4 KiB, POST + PATCH, concurrency 32; "
        f"median of {data['reps']} (server CPU: its user + system time per upload)\n"
    )
    if any(" --workers " in server for server in data["small"]):
        head += (
            "\ntuskit with --workers runs one server process per core behind one port "
            "(SO_REUSEPORT); the others are single processes; RSS and CPU are summed over "
            "a server's processes.\n"
        )
    header = ["server", "uploads/s", "× @tus/server", "p50 ms", "p99 ms"]
    header += ["server CPU ms/upload", "errors"]
    return head + "\n" + table(header, rows)


def loaded_table(data: dict[str, Any]) -> str:
    rows = []
    for entry in data["loaded"]:
        unloaded = entry["unloaded_mb_s"]
        loaded = entry["mb_s"]
        ratio = "-" if loaded is None or not unloaded else f"{loaded / unloaded:.2f}"
        rows.append(
            [
                f"tuskit → {entry['server']}",
                MODES[entry["mode"]],
                f"{entry['open']}",
                "-" if unloaded is None else f"{unloaded:.0f}",
                "-" if loaded is None else f"{loaded:.0f}",
                ratio,
            ]
        )
    head = (
        f"\n**Many connections**: {data['slow_connections']} slow uploads held open "
        "during the large upload\n"
    )
    header = ["pair", "mode", "slow uploads open", "unloaded MB/s", "loaded MB/s", "ratio"]
    return head + "\n" + table(header, rows)


def render(data: dict[str, Any]) -> str:
    head = (
        f"{data['date']}, {data['machine']}; file {data['size'] / 2**20:.0f} MiB; "
        "MB = 10^6 bytes; tus-js-client times include Node.js start-up "
        f"(~{data['node_startup_s']:.2f} s)\n"
    )
    if data.get("free_pages"):
        head += f"Machine setting: {data['free_pages']}.\n"
    tables = [head, large_tables(data), small_table(data), loaded_table(data)]
    return "\n".join([*tables, targets_table(data)])
