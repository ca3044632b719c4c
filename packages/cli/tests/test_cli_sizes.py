"""Size and duration options: 8MiB, 500kB, plain bytes; 30m, 24h, 7d."""

import pytest
import typer

from tuskit_cli._sizes import parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("1048576", 1 << 20),
        ("8MiB", 8 << 20),
        ("8mib", 8 << 20),
        ("500kB", 500_000),
        ("500 KiB", 500 << 10),
        ("1.5GB", 1_500_000_000),
        ("2GiB", 2 << 30),
        ("1TiB", 1 << 40),
        ("10b", 10),
        ("3M", 3_000_000),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MiB", "-1", "8 MiBs", "1.5", "1.0001kB", "ten", "8XB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("0.5h", 1800)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "-1h", "1y", "soon"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_duration(text)
