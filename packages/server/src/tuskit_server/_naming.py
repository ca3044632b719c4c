"""The name a finished upload's file gets in its upload directory (aiohttp-tus's layout).
Pure, no I/O.

The ``filename`` metadata is client input (security §7), so it is used as a name only when
it is one plain file name: never a path, never hidden, printable and short enough for any
file system. Anything else is refused at creation (400) rather than silently altered, so the
file always carries exactly the name the client sent.
"""

import unicodedata

from tuskit_common import BadRequest, Resource

__all__ = ["MAX_NAME_BYTES", "file_name_of", "placed_name"]

#: The longest name most file systems take (``NAME_MAX``), in UTF-8 bytes.
MAX_NAME_BYTES = 255
#: Bidirectional controls that make a name read differently from what it is (``exe.txt``).
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _problem(name: str) -> str | None:
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if any(unicodedata.category(c) == "Cc" or c in _BIDI for c in name):
        return "holds a control character"
    if name.startswith("."):
        return "starts with a dot (hidden files and .. are not accepted)"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    return None


def file_name_of(resource: Resource) -> str | None:
    """The upload's ``filename`` metadata as a safe file name, or None when it has none.

    Raises:
        BadRequest: the name is not UTF-8, holds a separator or a control character
            (NUL included), starts with a dot, or is too long.
    """
    raw = resource.metadata.get("filename")
    if not raw:
        return None
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the filename metadata is not UTF-8", code="invalid_file_name") from None
    problem = _problem(name)
    if problem is not None:
        raise BadRequest(f"the filename metadata {problem}", code="invalid_file_name")
    return name


def placed_name(resource: Resource) -> str:
    """The name of the finished file: the safe ``filename``, else the upload id."""
    return file_name_of(resource) or resource.id
