"""Human sizes and durations for command-line options: ``8MiB``, ``500kB``, ``24h``."""

import re

import typer

_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1 << 10,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1 << 20,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1 << 30,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1 << 40,
}
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|h|d|w|)\s*")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_size(text: str, *, param_hint: str | None = None) -> int:
    """Parse ``8MiB``, ``500kB``, ``1.5GB`` or plain bytes into a byte count.

    Decimal units (kB, MB, GB, TB) are powers of 1000 and binary ones (KiB, MiB, GiB, TiB)
    powers of 1024, as their names say. Raises ``typer.BadParameter`` (exit code 2) otherwise,
    naming the option (``param_hint``, or the option Typer parses it for).
    """
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise typer.BadParameter(
            f"expected a size like 8MiB, 500kB or 1048576, got {text!r}", param_hint=param_hint
        )
    value = float(match.group(1)) * _SIZE_UNITS[unit]
    if value != int(value):
        raise typer.BadParameter(
            f"expected a whole number of bytes, got {text!r}", param_hint=param_hint
        )
    return int(value)


def parse_chunk_size(text: str | int) -> int:
    """A size of at least one byte (a chunk of 0 bytes would never end); an int is the
    option's default, already a byte count."""
    size = text if isinstance(text, int) else parse_size(text)
    if size < 1:
        raise typer.BadParameter(f"expected a size of at least 1 byte, like 8MiB, got {text!r}")
    return size


def parse_duration(text: str, *, param_hint: str | None = None) -> float:
    """Parse ``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or plain seconds into seconds."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise typer.BadParameter(
            f"expected a duration like 90s, 30m, 24h or 7d, got {text!r}", param_hint=param_hint
        )
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
