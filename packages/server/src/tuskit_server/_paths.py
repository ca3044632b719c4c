"""Named upload URLs and paths (aiohttp-tus): the canonical form of an upload URL and an
``upload_path`` with its ``{placeholders}`` formatted from a request's match_info. Pure."""

import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["FIELD", "canonical_url", "format_upload_path", "has_fields"]

#: ``{name}`` or ``{name:regex}`` (a regex may hold one level of braces, as aiohttp allows).
FIELD = re.compile(r"\{([^{}:]+)(?::(?:[^{}]|\{[^{}]*\})*)?\}")


def canonical_url(upload_url: str) -> str:
    """``upload_url`` without the regex parts of its ``{name:regex}`` fields, trailing slash
    kept: the key aiohttp-tus filed a configuration under."""
    return FIELD.sub(lambda m: "{" + m.group(1) + "}", upload_url)


def has_fields(template: str | Path) -> bool:
    """Whether ``template`` has ``{placeholders}`` to format per request."""
    return FIELD.search(str(template)) is not None


def format_upload_path(template: str | Path, match_info: Mapping[str, str]) -> Path:
    """``template`` with each ``{name}`` replaced by ``match_info[name]``.

    Raises:
        ValueError: a value is missing, empty, ``.``/``..`` or holds a path separator or
            NUL, so it could leave (or collapse) the directory it names.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = match_info.get(name)
        if found is None:
            raise ValueError(f"the URL has no {{{name}}} for the upload path")
        if found in ("", ".", "..") or any(c in found for c in "/\\\0"):
            raise ValueError(f"{{{name}}} {found!r} cannot name a directory")
        return found

    return Path(FIELD.sub(value, str(template)))
