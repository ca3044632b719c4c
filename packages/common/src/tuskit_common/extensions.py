"""The tus extension names and the ``Tus-Extension`` list codec. Pure, no I/O."""

from collections.abc import Iterable
from enum import StrEnum


class Extension(StrEnum):
    """The nine extensions defined by tus 1.0.0, spelled as they appear on the wire."""

    CREATION = "creation"
    CREATION_WITH_UPLOAD = "creation-with-upload"
    CREATION_DEFER_LENGTH = "creation-defer-length"
    EXPIRATION = "expiration"
    CHECKSUM = "checksum"
    CHECKSUM_TRAILER = "checksum-trailer"
    TERMINATION = "termination"
    CONCATENATION = "concatenation"
    CONCATENATION_UNFINISHED = "concatenation-unfinished"


def parse_extensions(header: str | None) -> frozenset[Extension]:
    """Parse a ``Tus-Extension`` value into the extensions this toolkit knows.

    Names that are not tus extensions (aiohttp-tus advertises a ``file-check``) are ignored,
    so that a client never fails because a server says more than it needs to know.
    """
    if not header:
        return frozenset()
    known = {e.value: e for e in Extension}
    return frozenset(known[name] for part in header.split(",") if (name := part.strip()) in known)


def format_extensions(extensions: Iterable[Extension]) -> str:
    """Format extensions for ``Tus-Extension`` in their canonical order (the enum's)."""
    wanted = set(extensions)
    return ",".join(e.value for e in Extension if e in wanted)
