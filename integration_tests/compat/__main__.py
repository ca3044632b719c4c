"""``python -m integration_tests.compat``: run every peer suite in both columns, print the
table, exit 1 if a rule is broken. ``noxfile.py``'s ``compat`` session builds the column
environments and tusd and calls this."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from integration_tests.compat import report, runner
from integration_tests.compat.suites import SUITES

ROOT = Path(__file__).resolve().parents[2]
#: Where the unmodified suites are: ``shared/`` lies beside the checkout.
DEFAULT_SUITES = Path(os.environ.get("TUSKIT_PEER_SUITES", ROOT.parent / "shared" / "peer-suites"))
COLUMNS = ("peer", "tuskit")


def _pythons(values: list[str]) -> dict[tuple[str, str], str]:
    """``SUITE:COLUMN=PYTHON`` arguments, checked against the known suites."""
    pythons = {}
    for value in values:
        key, sep, python = value.partition("=")
        suite, _, column = key.partition(":")
        if not sep or suite not in SUITES or column not in COLUMNS:
            raise SystemExit(f"--python takes SUITE:COLUMN=PATH, got {value!r}")
        pythons[suite, column] = python
    return pythons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integration_tests.compat")
    parser.add_argument("--python", action="append", default=[], metavar="SUITE:COLUMN=PATH")
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder")
    parser.add_argument("--tusd", type=Path, help="the tusd binary (aiotus's suite starts it)")
    parser.add_argument("--suites", type=Path, default=DEFAULT_SUITES)
    parser.add_argument("--table", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    pythons = _pythons(args.python)
    if not args.suites.is_dir():
        raise SystemExit(f"peer suites not found at {args.suites} (set TUSKIT_PEER_SUITES)")
    comparisons = []
    for name, suite in SUITES.items():
        outcomes = {}
        for column in COLUMNS:
            python = pythons.get((name, column))
            if python is None:
                raise SystemExit(f"no --python {name}:{column}=PATH given")
            rootdir = runner.prepare(
                suite, args.suites / name, args.work / f"{name}-{column}", tusd=args.tusd
            )
            log = args.work / f"{name}-{column}.log"
            outcomes[column] = runner.run(suite, rootdir, python, shims=column == "tuskit", log=log)
            print(f"{name} ({column}): {len(outcomes[column])} results, log {log}", flush=True)
        comparisons.append(report.compare(suite, outcomes["peer"], outcomes["tuskit"]))
    table = report.render(comparisons)
    print(table)
    if args.table is not None:
        args.table.write_text(table)
    problems = [problem for comparison in comparisons for problem in comparison.problems]
    for problem in problems:
        print(f"compat: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
