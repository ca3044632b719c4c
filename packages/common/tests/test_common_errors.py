"""The error tree: every protocol error carries the status a server answers with."""

import pytest

import tuskit_common
from tuskit_common import errors

STATUSES = {
    "BadRequest": 400,
    "InvalidHeader": 400,
    "MetadataError": 400,
    "UnsupportedChecksum": 400,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "OffsetMismatch": 409,
    "Gone": 410,
    "VersionUnsupported": 412,
    "TooLarge": 413,
    "UnsupportedMediaType": 415,
    "Locked": 423,
    "ChecksumMismatch": 460,
    "ServerError": 500,
    "ExtensionUnavailable": 501,
    "ServiceUnavailable": 503,
}


@pytest.mark.parametrize(("name", "status"), STATUSES.items())
def test_status_and_code(name: str, status: int) -> None:
    cls = getattr(tuskit_common, name)
    assert issubclass(cls, tuskit_common.ProtocolError)
    assert issubclass(cls, tuskit_common.TusError)
    assert cls.status == status
    error = cls("readable", offset=3) if name == "OffsetMismatch" else cls("readable")
    assert error.message == str(error) == "readable"
    assert error.code == cls.default_code
    assert error.code.isidentifier()
    assert error.code.islower()


def test_every_protocol_error_is_listed_and_drawn_in_the_docstring() -> None:
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.ProtocolError)
    } - {"ProtocolError"}
    assert defined == set(STATUSES)
    doc = errors.__doc__ or ""
    for name, status in STATUSES.items():
        line = next(line for line in doc.splitlines() if f" {name} " in line)
        assert str(status) in line


def test_codes_are_unique() -> None:
    codes = [getattr(tuskit_common, name).default_code for name in STATUSES]
    assert len(codes) == len(set(codes))


def test_code_can_be_refined_and_offset_carried() -> None:
    error = tuskit_common.OffsetMismatch("offset 3, expected 5", offset=5, code="stale")
    assert (error.offset, error.code, error.status) == (5, "stale", 409)
    assert "stale" in repr(error)


def test_metadata_error_is_both_bad_request_and_value_error() -> None:
    assert issubclass(tuskit_common.MetadataError, tuskit_common.BadRequest)
    assert issubclass(tuskit_common.MetadataError, ValueError)
