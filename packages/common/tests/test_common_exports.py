"""The public surface: a sorted __all__ whose every name exists, and nothing I/O-bound."""

import subprocess
import sys

import tuskit_common


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then everything else."""
    group = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return group, name


def test_all_is_sorted_and_complete() -> None:
    exported = tuskit_common.__all__
    assert exported == sorted(exported, key=_isort_key)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(tuskit_common, name), name


def test_public_names_not_in_all_are_modules_only() -> None:
    public = {name for name in vars(tuskit_common) if not name.startswith("_")}
    assert public - set(tuskit_common.__all__) <= {
        "errors",
        "extensions",
        "ietf_draft",
        "metadata",
        "models",
        "units",
    }


def test_importing_common_loads_no_network_or_event_loop_code() -> None:
    probe = (
        "import sys, tuskit_common\n"
        "print(sorted(m for m in ('aiohttp', 'asyncio', 'multidict', 'yarl') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
