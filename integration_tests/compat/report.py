"""Compare a suite's two columns and render the table (pure: outcomes in, rows out).

The rule (issue 20): every test that passes on the peer passes on tuskit, unless the suite
lists it as allowed; a listed test that passes on tuskit anyway is a stale listing; nothing
may be skipped in either column.
"""

from __future__ import annotations

from dataclasses import dataclass

from integration_tests.compat.suites import Allowed, Suite

Outcomes = dict[str, str]


@dataclass(frozen=True)
class Row:
    """One test of a suite: its outcome in each column and, where they differ, why."""

    test: str
    peer: str
    tuskit: str
    allowed: Allowed | None


@dataclass(frozen=True)
class Comparison:
    """A suite's rows and the problems that fail the session."""

    suite: Suite
    rows: tuple[Row, ...]
    problems: tuple[str, ...]

    def count(self, column: str) -> int:
        """How many tests passed in ``column`` ("peer" or "tuskit")."""
        return sum(getattr(row, column) == "passed" for row in self.rows)


def allowance(suite: Suite, test: str) -> Allowed | None:
    """The listing that covers ``test``: its exact id, its id without parameters, or its file."""
    bare = test.split("[", 1)[0]
    module = test.split("::", 1)[0]
    return suite.allowed.get(test) or suite.allowed.get(bare) or suite.allowed.get(module)


def _tuskit_outcome(tuskit: Outcomes, test: str) -> str:
    """A test's tuskit outcome; a module that failed to import fails each of its tests."""
    if test in tuskit:
        return tuskit[test]
    module = test.split("::", 1)[0]
    return "error" if tuskit.get(module) == "error" else "missing"


def compare(suite: Suite, peer: Outcomes, tuskit: Outcomes) -> Comparison:
    """Line the columns up by the peer's test ids and list every broken rule."""
    problems: list[str] = []
    if not peer:
        problems.append(f"{suite.name}: the peer column ran no test")
    rows = []
    for test, peer_outcome in sorted(peer.items()):
        outcome = _tuskit_outcome(tuskit, test)
        allowed = allowance(suite, test)
        rows.append(Row(test, peer_outcome, outcome, allowed if outcome != "passed" else None))
        if "skipped" in (peer_outcome, outcome):
            problems.append(f"{suite.name}: {test} was skipped (the suites never skip)")
        elif peer_outcome != "passed":
            problems.append(f"{suite.name}: {test} does not pass on the peer ({peer_outcome})")
        elif outcome != "passed" and allowed is None:
            problems.append(f"{suite.name}: {test} passes on the peer but is {outcome} on tuskit")
    for listed in suite.allowed:
        covered = [row for row in rows if allowance(suite, row.test) is suite.allowed[listed]]
        if not covered:
            problems.append(f"{suite.name}: the allowed entry {listed} matches no test")
        elif all(row.tuskit == "passed" for row in covered):
            problems.append(f"{suite.name}: {listed} is listed as allowed but passes on tuskit")
    return Comparison(suite, tuple(rows), tuple(problems))


def render(comparisons: list[Comparison]) -> str:
    """The Markdown table: one section per suite, a row per test, reasons where they differ."""
    lines: list[str] = []
    for comparison in comparisons:
        suite, total = comparison.suite, len(comparison.rows)
        lines += [
            f"**{suite.name}** ({suite.peer}): peer {comparison.count('peer')}/{total}, "
            f"tuskit {comparison.count('tuskit')}/{total}",
            "",
            f"| test | {suite.peer} | tuskit | why they differ |",
            "|---|---|---|---|",
        ]
        for row in comparison.rows:
            why = f"{row.allowed.why}: {row.allowed.reason}" if row.allowed else ""
            test = row.test.replace("|", "\\|")
            lines.append(f"| `{test}` | {row.peer} | {row.tuskit} | {why} |")
        lines.append("")
    return "\n".join(lines)
