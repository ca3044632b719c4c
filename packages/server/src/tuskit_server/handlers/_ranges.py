"""The byte range a download answers (RFC 9110 §14), for stores that stream their bytes
(:class:`~tuskit_server.stores.base.RangeStreamer`). Pure: no I/O, no aiohttp.

One range is served (206); a header naming several ranges, or one that cannot be parsed,
is ignored and the whole object sent (200), as RFC 9110 §14.2 allows; a range starting past
the end is unsatisfiable (416).
"""

import re
from dataclasses import dataclass

__all__ = ["ByteRange", "Unsatisfiable", "plan_range"]

_ONE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


class Unsatisfiable(ValueError):
    """The range starts at or past the end (answer 416 with ``bytes */length``)."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``first..last`` (inclusive) of an object of ``length`` bytes; ``partial``
    when they answer a Range request (206)."""

    first: int
    last: int
    length: int
    partial: bool

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.length}"


def plan_range(header: str | None, length: int) -> ByteRange:
    """The bytes to send for a ``Range`` header (None: no header) of an object of ``length``.

    Raises:
        Unsatisfiable: the one range asked for lies past the end.
    """
    whole = ByteRange(0, length - 1, length, False)
    match = _ONE_RANGE.fullmatch(header) if header else None
    if match is None or not any(match.groups()):
        return whole
    start, end = match.groups()
    if not start:  # suffix: the last ``end`` bytes
        size = int(end)
        if size == 0:
            raise Unsatisfiable(f"bytes=-0 of {length} bytes")
        if length == 0:
            raise Unsatisfiable("an empty upload has no byte range")
        return ByteRange(max(length - size, 0), length - 1, length, True)
    first = int(start)
    last = min(int(end), length - 1) if end else length - 1
    if end and int(end) < first:
        return whole  # invalid: ignored (RFC 9110 §14.1.1)
    if first >= length:
        raise Unsatisfiable(f"byte {first} is past the end ({length} bytes)")
    return ByteRange(first, last, length, True)
