"""The value forms the server's settings accept: sizes, durations, comma lists, URL paths,
Redis URLs, store locations (a directory or ``s3://bucket/prefix``).

Kept apart from the model (:mod:`tuskit_server.settings`) so each option's type reads as one
word there; every converter leaves a non-string (a TOML number, a list) to pydantic.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_settings import NoDecode

from tuskit_common import units

__all__ = [
    "RedisUrl",
    "S3Location",
    "Seconds",
    "Size",
    "SizeOrUnlimited",
    "StoreLocation",
    "Words",
    "duration",
    "duration_or_never",
    "redis_url",
    "size",
    "size_or_unlimited",
    "store_location",
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


#: S3's rule for bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting
#: and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True, slots=True)
class S3Location:
    """Where ``s3://bucket/prefix`` puts uploads: every key starts with ``prefix``."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, value: str) -> "S3Location | None":
        """The location of an ``s3://`` URL, None for anything else (a directory).

        A non-empty prefix ends with ``/`` (``s3://b/uploads`` keeps ``uploads/<id>``),
        so that a prefix names a folder as S3 consoles show it.

        Raises:
            ValueError: another URL scheme, or an s3:// URL without a valid bucket name.
        """
        parts = urlsplit(value)
        scheme = parts.scheme.lower()
        if scheme != "s3":
            if "://" in value:
                raise ValueError(f"{value!r} is neither a directory nor an s3://bucket/prefix URL")
            return None
        bucket = parts.netloc
        if not _BUCKET.fullmatch(bucket) or ".." in bucket or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not an s3://bucket/prefix URL with a valid bucket name")
        prefix = parts.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls(bucket, prefix)


def store_location(value: str) -> str:
    """A directory or an ``s3://bucket/prefix`` URL (checked by :meth:`S3Location.parse`)."""
    if not value.strip():
        raise ValueError("an empty value is neither a directory nor an s3:// URL")
    S3Location.parse(value)
    return value


Size = Annotated[int, Field(ge=0), BeforeValidator(size)]
Seconds = Annotated[float, Field(gt=0), BeforeValidator(duration)]
Words = Annotated[list[str], NoDecode, BeforeValidator(_words)]
SizeOrUnlimited = Annotated[int | None, Field(ge=0), BeforeValidator(size_or_unlimited)]
RedisUrl = Annotated[str, AfterValidator(redis_url)]
StoreLocation = Annotated[str, AfterValidator(store_location)]
