"""The upload flow driven by hand: commands out, built heads (or failures) in. No event loop,
no server."""

from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import pytest
from multidict import CIMultiDict
from yarl import URL

from tuskit_client import (
    CapabilityError,
    ProtocolError,
    RetryConfiguration,
    TransportError,
    UploadNotFound,
)
from tuskit_client._commands import Command, Forget, Read, Remember, Send, Sleep
from tuskit_client._flow import Transferred, UploadFlow
from tuskit_client._plan import plan_upload
from tuskit_client._progress import Progress, Span
from tuskit_client._steps import ResponseHead
from tuskit_common import ProtocolError as CommonProtocolError

UPLOAD = URL("https://h/files/1")
ENDPOINT = URL("https://h/files/")
CONFIG = RetryConfiguration(retry_attempts=3, base_delay_seconds=1.0, max_retry_period_seconds=8.0)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def answer(status: int, url: URL = UPLOAD, **headers: str) -> ResponseHead:
    fixed = CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()})
    return ResponseHead(status, fixed, url)


def flow(chunk_size: int | None = 10) -> UploadFlow:
    return UploadFlow(
        CONFIG, headers=None, chunk_size=chunk_size, now=lambda: NOW, random=lambda: 0.5
    )


def expect_send(command: Command, method: str, offset: str | None = None) -> Send:
    assert isinstance(command, Send), command
    assert command.head.method == method
    assert command.head.headers.get("Upload-Offset") == offset
    return command


def test_a_conflict_without_offset_asks_the_server_and_goes_on() -> None:
    steps = flow().transfer(UPLOAD, Span(), offset=0, length=25)
    expect_send(next(steps), "PATCH", "0")
    assert steps.send(answer(409)) == Sleep(0.0)
    expect_send(next(steps), "HEAD")
    head = answer(200, Upload_Offset="20", Upload_Length="25")
    expect_send(steps.send(head), "PATCH", "20")
    with pytest.raises(StopIteration) as done:
        steps.send(answer(204, Upload_Offset="25"))
    assert done.value.value == Transferred(25, 25, None)


def test_one_attempt_count_for_a_patch_and_the_head_after_it() -> None:
    # No retry loop inside another: the failed HEAD is the upload's third failure in a row.
    steps = flow().transfer(UPLOAD, Span(), offset=0, length=25)
    expect_send(next(steps), "PATCH", "0")
    assert steps.throw(TransportError("reset")) == Sleep(0.5)
    expect_send(next(steps), "HEAD")
    assert steps.throw(TransportError("reset")) == Sleep(1.0)
    expect_send(next(steps), "HEAD")
    with pytest.raises(TransportError):
        steps.throw(TransportError("reset"))


def test_an_offset_that_goes_backwards_is_a_protocol_error() -> None:
    steps = flow().transfer(UPLOAD, Span(), offset=10, length=25)
    expect_send(next(steps), "PATCH", "10")
    with pytest.raises(ProtocolError, match="outside") as info:
        steps.send(answer(204, Upload_Offset="5"))
    assert isinstance(info.value, CommonProtocolError)


def test_a_server_offset_past_the_length_is_refused() -> None:
    steps = flow().transfer(UPLOAD, Span(), offset=None, length=25)
    expect_send(next(steps), "HEAD")
    with pytest.raises(ProtocolError, match="Server offset too big"):
        steps.send(answer(200, Upload_Offset="30"))


def test_a_server_that_takes_nothing_is_given_up_on() -> None:
    steps = flow().transfer(UPLOAD, Span(), offset=0, length=25)
    sleeps = []
    for _ in range(2):
        expect_send(next(steps), "PATCH", "0")
        command = steps.send(answer(204, Upload_Offset="0"))
        assert isinstance(command, Sleep)
        sleeps.append(command.seconds)
    assert sleeps == [0.5, 1.0]
    expect_send(next(steps), "PATCH", "0")
    with pytest.raises(ProtocolError, match="accepts no bytes"):
        steps.send(answer(204, Upload_Offset="0"))


def test_a_checksum_chunk_is_read_then_sent_and_resent_after_a_460() -> None:
    steps = flow().transfer(UPLOAD, Span(), offset=0, length=4, checksum="sha1", seekable=True)
    assert next(steps) == Read(0, 4, exact=True)
    send = expect_send(steps.send((b"abcd", True)), "PATCH", "0")
    assert send.head.headers["Upload-Checksum"] == "sha1 gf6L/odXbD7LIkJvjleEc4KRes8="
    assert steps.send(answer(460)) == Read(0, 4, exact=True)
    expect_send(steps.send((b"abcd", True)), "PATCH", "0")
    with pytest.raises(StopIteration):
        steps.send(answer(204, Upload_Offset="4"))


def drive(steps: Generator[Command, Any, Any], answers: dict[str, ResponseHead]) -> list[Command]:
    """Answer every request by method, reads with zeros; the commands seen."""
    seen: list[Command] = []
    reply: Any = None
    while True:
        try:
            command = steps.send(reply)
        except StopIteration:
            return seen
        seen.append(command)
        if isinstance(command, Send):
            reply = answers[command.head.method]
        elif isinstance(command, Read):
            reply = (bytes(command.size), True)
        else:
            reply = None


def test_an_upload_without_options_and_of_unknown_size_stops_before_any_post() -> None:
    plan = plan_upload(
        ENDPOINT,
        size=None,
        seekable=False,
        progress=Progress(None, None),
        url=None,
        stored=None,
        resumable=False,
        metadata_header=None,
        checksum=None,
    )
    with pytest.raises(CapabilityError, match="defer-length"):
        drive(flow().upload(plan), {"OPTIONS": answer(404, ENDPOINT)})


def test_a_new_resumable_upload_is_remembered_and_a_stale_entry_forgotten() -> None:
    from tuskit_client import StoredUpload

    plan = plan_upload(
        ENDPOINT,
        size=0,
        seekable=True,
        progress=Progress(None, 0),
        url=None,
        stored=StoredUpload("https://h/files/old", 0),
        resumable=True,
        metadata_header=None,
        checksum=None,
        remove_on_success=True,
    )
    answers = {
        "HEAD": answer(404),
        "OPTIONS": answer(200, ENDPOINT, Tus_Version="1.0.0", Tus_Extension="creation"),
        "POST": answer(201, ENDPOINT, Location="/files/2"),
    }
    seen = drive(flow().upload(plan), answers)
    effects = [c for c in seen if isinstance(c, Remember | Forget)]
    assert effects == [Forget(), Remember(URL("https://h/files/2"), 0), Forget()]


def test_a_named_upload_that_is_gone_without_an_endpoint_is_an_error() -> None:
    plan = plan_upload(
        None,
        size=3,
        seekable=True,
        progress=Progress(None, 3),
        url=UPLOAD,
        stored=None,
        resumable=False,
        metadata_header=None,
        checksum=None,
    )
    with pytest.raises(UploadNotFound, match="no endpoint"):
        drive(flow().upload(plan), {"HEAD": answer(410)})
