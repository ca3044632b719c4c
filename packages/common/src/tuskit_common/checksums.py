"""The checksum registry: algorithm name -> incremental hasher (spec §checksum). Pure, no I/O.

``sha1`` is mandatory; md5, sha256, sha512 and crc32 are offered too. crc32's digest is the
4-byte big-endian CRC, Base64-encoded on the wire like the others.
"""

import hashlib
import zlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Protocol

from tuskit_common.errors import BadRequest, UnsupportedChecksum
from tuskit_common.values import Checksum


class Hasher(Protocol):
    """What the registry hands out: fed in pieces, then asked for the digest once."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    """CRC-32 with the ``hashlib`` interface the registry needs."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


def _hashlib(name: str) -> Callable[[], Hasher]:
    def factory() -> Hasher:
        return hashlib.new(name, usedforsecurity=False)

    factory.__doc__ = f"A new incremental {name} hasher."
    return factory


#: Every algorithm tuskit implements, in the order it advertises them.
ALGORITHMS: Mapping[str, Callable[[], Hasher]] = MappingProxyType(
    {
        "sha1": _hashlib("sha1"),
        "md5": _hashlib("md5"),
        "sha256": _hashlib("sha256"),
        "sha512": _hashlib("sha512"),
        "crc32": _Crc32,
    }
)

_DIGEST_SIZES: Mapping[str, int] = MappingProxyType(
    {"sha1": 20, "md5": 16, "sha256": 32, "sha512": 64, "crc32": 4}
)


def new_hasher(algorithm: str) -> Hasher:
    """Return a fresh hasher for ``algorithm``.

    Raises:
        UnsupportedChecksum: the name is not in :data:`ALGORITHMS`.
    """
    factory = ALGORITHMS.get(algorithm)
    if factory is None:
        raise UnsupportedChecksum(f"checksum algorithm {algorithm!r} is not supported")
    return factory()


def digest_size(algorithm: str) -> int:
    """The digest length in bytes of a registered algorithm.

    Raises:
        UnsupportedChecksum: the name is not registered.
    """
    size = _DIGEST_SIZES.get(algorithm)
    if size is None:
        raise UnsupportedChecksum(f"checksum algorithm {algorithm!r} is not supported")
    return size


def check_checksum(checksum: Checksum, supported: frozenset[str] | None = None) -> None:
    """Check that a parsed ``Upload-Checksum`` can be verified here, before reading a body.

    Args:
        checksum: the parsed header.
        supported: the algorithms this side offers (default: all of :data:`ALGORITHMS`).

    Raises:
        UnsupportedChecksum: the algorithm is not offered.
        BadRequest: the digest has the wrong length for its algorithm.
    """
    offered = supported if supported is not None else frozenset(ALGORITHMS)
    if checksum.algorithm not in offered or checksum.algorithm not in ALGORITHMS:
        raise UnsupportedChecksum(f"checksum algorithm {checksum.algorithm!r} is not supported")
    expected = digest_size(checksum.algorithm)
    if len(checksum.digest) != expected:
        raise BadRequest(
            f"Upload-Checksum {checksum.algorithm} digest must be {expected} bytes, "
            f"got {len(checksum.digest)}",
            code="invalid_checksum",
        )
