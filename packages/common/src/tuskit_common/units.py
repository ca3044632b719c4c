"""Human sizes and durations as people type them: ``8MiB``, ``500kB``, ``24h``. Pure.

Shared by the ``tus`` command's options and the server's settings (flags, environment and
configuration file alike), so every place accepts the same forms.
"""

import re

__all__ = ["parse_duration", "parse_size"]

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


def parse_size(text: str) -> int:
    """Parse ``8MiB``, ``500kB``, ``1.5GB`` or plain bytes into a byte count.

    Decimal units (kB, MB, GB, TB) are powers of 1000 and binary ones (KiB, MiB, GiB, TiB)
    powers of 1024, as their names say.

    Raises:
        ValueError: not such a size, or not a whole number of bytes.
    """
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"expected a size like 8MiB, 500kB or 1048576, got {text!r}")
    value = float(match.group(1)) * _SIZE_UNITS[unit]
    if value != int(value):
        raise ValueError(f"expected a whole number of bytes, got {text!r}")
    return int(value)


def parse_duration(text: str) -> float:
    """Parse ``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or plain seconds into seconds.

    Raises:
        ValueError: not such a duration.
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"expected a duration like 90s, 30m, 24h or 7d, got {text!r}")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
