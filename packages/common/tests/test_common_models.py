"""Resource (the info-file model) and ServerCapabilities (the OPTIONS answer)."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tuskit_common import Extension, InvalidHeader, Resource, ServerCapabilities

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def make(**changes: object) -> Resource:
    fields: dict[str, object] = {"id": "a" * 32, "length": 10, "created_at": CREATED}
    fields.update(changes)
    return Resource.model_validate(fields)


def test_json_round_trip_is_exact() -> None:
    resource = make(
        offset=4,
        metadata_header="filename /w==,flag",
        concat_header=None,
        expires_at=CREATED + timedelta(days=1),
        storage={"path": "x/y", "parts": [1, 2], "nested": {"k": None}},
    )
    again = Resource.from_json(resource.to_json())
    assert again == resource
    assert again.metadata == {"filename": b"\xff", "flag": None}


def test_final_resource_round_trip() -> None:
    final = make(
        length=None,
        is_final=True,
        partial_ids=("p1", "p2"),
        concat_header="final;/files/p1 /files/p2",
    )
    assert Resource.from_json(final.to_json()) == final
    assert final.is_deferred


def test_frozen_and_changed_through_model_copy() -> None:
    resource = make()
    with pytest.raises(ValidationError):
        resource.offset = 3  # type: ignore[misc]
    moved = resource.model_copy(update={"offset": 10})
    assert (resource.offset, moved.offset) == (0, 10)
    assert moved.is_complete
    assert not resource.is_complete


def test_aiohttp_tus_names() -> None:
    resource = Resource.model_validate(
        {"uid": "abc", "length": 3, "created_at": CREATED, "metadata_header": "filename YS50eHQ="}
    )
    assert resource.uid == resource.id == "abc"
    assert resource.file_size == 3
    assert resource.file_name == "a.txt"
    assert make().file_name is None


def test_extra_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="surprise"):
        make(surprise=1)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"offset": 11}, "past length"),
        ({"offset": -1}, "greater than or equal"),
        ({"length": -1}, "greater than or equal"),
        ({"id": ""}, "at least 1"),
        ({"is_partial": True, "is_final": True, "partial_ids": ("x",)}, "both partial and final"),
        ({"is_final": True}, "partial_ids"),
        ({"partial_ids": ("x",)}, "partial_ids"),
    ],
)
def test_inconsistent_resources_are_rejected(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        make(**changes)


def test_deferred_upload_is_never_complete() -> None:
    deferred = make(length=None, offset=5)
    assert deferred.is_deferred
    assert not deferred.is_complete


def test_capabilities_from_and_to_headers() -> None:
    caps = ServerCapabilities.from_headers(
        {
            "Tus-Version": "1.0.0,0.2.2",
            "Tus-Extension": "creation,termination,file-check",
            "Tus-Max-Size": "1073741824",
            "Tus-Checksum-Algorithm": "sha1,md5",
        }
    )
    assert caps.versions == ("1.0.0", "0.2.2")
    assert caps.extensions == {Extension.CREATION, Extension.TERMINATION}
    assert caps.max_size == 1 << 30
    assert caps.checksum_algorithms == ("sha1", "md5")
    assert caps.supports(Extension.TERMINATION)
    assert not caps.supports(Extension.CHECKSUM)
    assert caps.to_headers() == {
        "Tus-Version": "1.0.0,0.2.2",
        "Tus-Extension": "creation,termination",
        "Tus-Max-Size": "1073741824",
        "Tus-Checksum-Algorithm": "sha1,md5",
    }


def test_capabilities_minimal_and_bad_max_size() -> None:
    assert ServerCapabilities().to_headers() == {"Tus-Version": "1.0.0"}
    with pytest.raises(InvalidHeader, match="Tus-Max-Size"):
        ServerCapabilities.from_headers({"Tus-Version": "1.0.0", "Tus-Max-Size": "-1"})
