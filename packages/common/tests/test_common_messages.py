"""Message heads: plain frozen values, built directly or through their URL-typed alias."""

import dataclasses

import pytest

from tuskit_common import RequestHead, ResponseHead, headers


def test_heads_are_frozen_values() -> None:
    head = RequestHead("PATCH", "/files/1", {headers.UPLOAD_OFFSET: "0"})
    assert head == RequestHead("PATCH", "/files/1", {headers.UPLOAD_OFFSET: "0"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        head.method = "POST"  # type: ignore[misc]


def test_a_head_is_built_through_its_parametrised_alias() -> None:
    # Each side names its URL type (the client's is yarl.URL); building through the alias
    # must work on every supported Python (a slotted frozen generic dataclass does not).
    answer = ResponseHead[str](204, {headers.UPLOAD_OFFSET: "5"}, "/files/1")
    assert (answer.status, answer.url, answer.reason, answer.body) == (204, "/files/1", "", "")
    assert RequestHead[str]("HEAD", "/files/1", {}).method == "HEAD"
