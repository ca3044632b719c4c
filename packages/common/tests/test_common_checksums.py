"""The checksum registry against published test vectors."""

import pytest

from tuskit_common import ALGORITHMS, BadRequest, UnsupportedChecksum, check_checksum, new_hasher
from tuskit_common.checksums import digest_size
from tuskit_common.values import Checksum

VECTORS = {
    "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
    "md5": "900150983cd24fb0d6963f7d28e17f72",
    "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha512": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "crc32": "352441c2",
}


def test_registry_holds_the_five_lowercase_names() -> None:
    assert list(ALGORITHMS) == ["sha1", "md5", "sha256", "sha512", "crc32"]
    assert all(name == name.lower() and name.isascii() for name in ALGORITHMS)


@pytest.mark.parametrize(("name", "hexdigest"), VECTORS.items())
def test_incremental_digest_matches_vector(name: str, hexdigest: str) -> None:
    hasher = new_hasher(name)
    for piece in (b"a", b"", b"bc"):
        hasher.update(piece)
    assert hasher.digest().hex() == hexdigest
    assert len(hasher.digest()) == digest_size(name)


def test_crc32_standard_check_value() -> None:
    hasher = new_hasher("crc32")
    hasher.update(b"123456789")
    assert hasher.digest() == bytes.fromhex("cbf43926")


def test_unknown_algorithm() -> None:
    with pytest.raises(UnsupportedChecksum, match="'sha3'") as info:
        new_hasher("sha3")
    assert info.value.status == 400
    with pytest.raises(UnsupportedChecksum):
        digest_size("SHA1")


def test_check_checksum() -> None:
    good = Checksum("sha1", b"\x00" * 20)
    check_checksum(good)
    check_checksum(good, frozenset({"sha1"}))
    with pytest.raises(UnsupportedChecksum):
        check_checksum(good, frozenset({"md5"}))
    with pytest.raises(UnsupportedChecksum):
        check_checksum(Checksum("whirlpool", b"\x00"))
    with pytest.raises(BadRequest, match="must be 20 bytes, got 19") as info:
        check_checksum(Checksum("sha1", b"\x00" * 19))
    assert info.value.code == "invalid_checksum"
