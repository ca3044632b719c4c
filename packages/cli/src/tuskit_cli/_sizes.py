"""Human sizes and durations for command-line options (:mod:`tuskit_common.units`), a bad
one being a usage error (exit code 2)."""

import typer

from tuskit_common import units


def parse_size(text: str) -> int:
    """Parse ``8MiB``, ``500kB``, ``1.5GB`` or plain bytes into a byte count.

    Raises ``typer.BadParameter`` (exit code 2) when ``text`` is not such a size.
    """
    try:
        return units.parse_size(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def parse_duration(text: str) -> float:
    """Parse ``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or plain seconds into seconds."""
    try:
        return units.parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
