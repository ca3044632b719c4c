"""The value forms the server's settings accept: sizes, durations, comma lists, URL paths,
Redis URLs.

Kept apart from the model (:mod:`tuskit_server.settings`) so each option's type reads as one
word there; every converter leaves a non-string (a TOML number, a list) to pydantic.
"""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import NoDecode

from tuskit_common import units

__all__ = [
    "RedisUrl",
    "Seconds",
    "Size",
    "SizeOrUnlimited",
    "Words",
    "duration",
    "duration_or_never",
    "redis_url",
    "size",
    "size_or_unlimited",
    "url_path",
]

_NEVER = ("never", "unlimited", "none", "off")


def size(value: object) -> object:
    return units.parse_size(value) if isinstance(value, str) else value


def duration(value: object) -> object:
    return units.parse_duration(value) if isinstance(value, str) else value


def _or_none(convert: Callable[[object], object]) -> Callable[[object], object]:
    """``convert``, but a word such as 'never' or 'unlimited' means None (no limit)."""

    def converted(value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in _NEVER:
            return None
        return convert(value)

    return converted


size_or_unlimited = _or_none(size)
duration_or_never = _or_none(duration)


def _words(value: object) -> object:
    """A list from a comma-separated string (an environment variable), else unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def url_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not a URL path (it must start with /)")
    return value


def redis_url(value: str) -> str:
    """``redis://host[:port][/db]``, ``rediss://`` (TLS) or ``unix:///path``, as redis-py
    reads them; checked here so a typo is a usage error before anything starts."""
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    wrong = ValueError(f"{value!r} is not a Redis URL (redis://host:port/db or unix:///path)")
    if scheme == "unix":
        if not parts.path:
            raise wrong
        return value
    if scheme not in ("redis", "rediss") or not parts.hostname:
        raise wrong
    try:
        parts.port  # noqa: B018 - urllib checks the port only when it is read
    except ValueError:
        raise wrong from None
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise wrong
    return value


Size = Annotated[int, Field(ge=0), BeforeValidator(size)]
Seconds = Annotated[float, Field(gt=0), BeforeValidator(duration)]
Words = Annotated[list[str], NoDecode, BeforeValidator(_words)]
SizeOrUnlimited = Annotated[int | None, Field(ge=0), BeforeValidator(size_or_unlimited)]
RedisUrl = Annotated[str, AfterValidator(redis_url)]
