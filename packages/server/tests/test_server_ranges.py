"""The byte range a streamed download answers (handlers/_ranges.plan_range, pure)."""

import pytest

from tuskit_server.handlers._ranges import ByteRange, Unsatisfiable, plan_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ByteRange(0, 9, 10, False)),
        ("bytes=2-4", ByteRange(2, 4, 10, True)),
        ("bytes=2-", ByteRange(2, 9, 10, True)),
        ("bytes=-3", ByteRange(7, 9, 10, True)),
        ("bytes=-30", ByteRange(0, 9, 10, True)),
        ("bytes=5-100", ByteRange(5, 9, 10, True)),
        ("bytes=0-1,4-5", ByteRange(0, 9, 10, False)),  # several ranges: the whole
        ("bytes=4-2", ByteRange(0, 9, 10, False)),  # invalid: ignored
        ("items=0-1", ByteRange(0, 9, 10, False)),
        ("bytes=-", ByteRange(0, 9, 10, False)),
    ],
)
def test_plan_range(header: str | None, expected: ByteRange) -> None:
    assert plan_range(header, 10) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=11-20", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        plan_range(header, 10)


def test_empty_object_is_whole_or_unsatisfiable() -> None:
    assert plan_range(None, 0).partial is False
    with pytest.raises(Unsatisfiable):
        plan_range("bytes=0-", 0)
    with pytest.raises(Unsatisfiable):
        plan_range("bytes=-5", 0)


def test_content_range() -> None:
    assert plan_range("bytes=2-4", 10).content_range() == "bytes 2-4/10"
