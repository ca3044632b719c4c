"""Human sizes and durations for command-line options (:mod:`tuskit_common.units`), a bad
one being a usage error (exit code 2) that names the option."""

import typer

from tuskit_common import units


def parse_size(text: str, *, param_hint: str | None = None) -> int:
    """Parse ``8MiB``, ``500kB``, ``1.5GB`` or plain bytes into a byte count.

    Raises ``typer.BadParameter`` (exit code 2) otherwise, naming the option (``param_hint``,
    or the option Typer parses it for).
    """
    try:
        return units.parse_size(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=param_hint) from None


def parse_chunk_size(text: str | int) -> int:
    """A size of at least one byte (a chunk of 0 bytes would never end); an int is the
    option's default, already a byte count."""
    size = text if isinstance(text, int) else parse_size(text)
    if size < 1:
        raise typer.BadParameter(f"expected a size of at least 1 byte, like 8MiB, got {text!r}")
    return size


def parse_duration(text: str, *, param_hint: str | None = None) -> float:
    """Parse ``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or plain seconds into seconds."""
    try:
        return units.parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=param_hint) from None
