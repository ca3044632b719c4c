"""Holding back the VM's free page reporting while the benchmark runs.

Why: on a virtual machine whose balloon device reports free pages to the host, memory freed
in the guest is handed back to the host within seconds, and touching it again costs a host
page fault per page. Every large upload writes 1 GiB into the page cache and the previous
upload's file was just deleted, so the same upload ran several times slower or faster
depending on how long ago that file was deleted: on the machine of the README, writing
1 GiB into a new file took 0.18 s right after a deletion and 0.9–2.5 s five to fifteen
seconds later, and 0.18–0.27 s in every case once reporting was held back. That is a
property of the machine, not of any server or client, so the run holds it back (as
``pyperf system tune`` steadies a CPU) and restores the settings afterwards.

Only kernels that expose how long a freed page waits before it is reported
(``min_free_ms``, and ``max_waiting_mib``, the most memory that may wait) can be held;
elsewhere the run records what it found and changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["held"]

PARAMETERS = Path("/sys/module/page_reporting/parameters")

#: Far longer than the gap between two uploads (the kernel of the README's machine refuses
#: 600000), and more memory than a run frees between two uploads.
HOLD_MS = 300_000
HOLD_MIB = 8192


@contextlib.contextmanager
def held(parameters: Path = PARAMETERS) -> Iterator[str]:
    """Hold back free page reporting until the block ends; yields a line saying what was
    done (for the report), and restores every value it changed, also on an error."""
    wait = parameters / "min_free_ms"
    most = parameters / "max_waiting_mib"
    if not parameters.is_dir():
        yield "no free page reporting on this machine"
        return
    if not wait.is_file() or not most.is_file():
        yield "free page reporting on, left as it is (this kernel cannot delay it)"
        return
    before = {path: path.read_text().strip() for path in (wait, most)}
    wanted = {
        wait: str(max(HOLD_MS, _int(before[wait]))),
        most: str(max(HOLD_MIB, _int(before[most]))),
    }
    changed: list[Path] = []
    try:
        for path, value in wanted.items():
            path.write_text(value)
            changed.append(path)
    except OSError as exc:
        _restore(before, changed)
        yield f"free page reporting on, left as it is (cannot change it: {exc.strerror})"
        return
    try:
        yield (
            f"free page reporting held back during the run (min_free_ms {before[wait]} → "
            f"{wanted[wait]}, max_waiting_mib {before[most]} → {wanted[most]}; restored after)"
        )
    finally:
        _restore(before, changed)


def _restore(before: dict[Path, str], changed: list[Path]) -> None:
    for path in reversed(changed):
        with contextlib.suppress(OSError):
            path.write_text(before[path])


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
