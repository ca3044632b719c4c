"""The IETF draft through the one upload flow, driven by hand: every request the flow sends
is checked against the draft's wording and answered with a built head. No server."""

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from multidict import CIMultiDict
from yarl import URL

from tuskit_client import CapabilityError, RetryConfiguration, TransportError
from tuskit_client._commands import Command, Forget, Read, Remember, Send, Sleep
from tuskit_client._flow import UploadFlow
from tuskit_client._plan import plan_upload
from tuskit_client._progress import Progress
from tuskit_client._results import UploadResult
from tuskit_client._resume import StoredUpload
from tuskit_client._steps import ResponseHead
from tuskit_client._wire import Choice
from tuskit_client.exceptions import ResponseError
from tuskit_common import encode_metadata

ENDPOINT = URL("https://h/files/")
UPLOAD = URL("https://h/files/1")
CONFIG = RetryConfiguration(retry_attempts=3, base_delay_seconds=1.0, max_retry_period_seconds=8.0)
NOW = datetime(2030, 1, 1, tzinfo=UTC)
DATA = bytes(range(25))


def answer(status: int, url: URL = UPLOAD, body: str = "", **headers: str) -> ResponseHead:
    fixed = CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()})
    return ResponseHead(status, fixed, url, body=body)


def flow(
    protocol: Choice = Choice.DRAFT, *, version: int = 8, chunk_size: int | None = 10
) -> UploadFlow:
    return UploadFlow(
        CONFIG,
        headers={"Authorization": "x"},
        chunk_size=chunk_size,
        now=lambda: NOW,
        random=lambda: 0.5,
        protocol=protocol,
        draft_version=version,
    )


def plan(
    *,
    size: int | None = len(DATA),
    seekable: bool = True,
    stored: StoredUpload | None = None,
    metadata: dict[str, bytes | None] | None = None,
    checksum: str | None = None,
    parallel: int = 1,
) -> Any:
    return plan_upload(
        ENDPOINT,
        size=size,
        seekable=seekable,
        progress=Progress(None, size),
        url=None,
        stored=stored,
        resumable=stored is not None,
        metadata_header=encode_metadata(metadata) if metadata else None,
        checksum=checksum,
        parallel=parallel,
    )


@dataclass
class Script:
    """Answers the flow's requests in order and keeps every command it saw."""

    answers: deque[ResponseHead | Exception]
    sent: list[Send] = field(default_factory=list)
    others: list[Command] = field(default_factory=list)

    def run(self, steps: Generator[Command, Any, Any]) -> Any:
        reply: Any = None
        failure: Exception | None = None
        while True:
            try:
                command = steps.throw(failure) if failure else steps.send(reply)
            except StopIteration as stop:
                assert not self.answers, f"unused answers: {self.answers}"
                return stop.value
            reply, failure = None, None
            if isinstance(command, Send):
                self.sent.append(command)
                given = self.answers.popleft()
                if isinstance(given, Exception):
                    failure = given
                else:
                    reply = given
            elif isinstance(command, Read):
                end = command.position + command.size
                reply = (DATA[command.position : end], end >= len(DATA))
            else:
                self.others.append(command)

    def heads(self) -> list[tuple[str, dict[str, str]]]:
        return [(send.head.method, dict(send.head.headers)) for send in self.sent]


def script(*answers: ResponseHead | Exception) -> Script:
    return Script(deque(answers))


def opened(*answers: ResponseHead | Exception) -> Script:
    """A script that starts with a bare OPTIONS answer and a creation that took 10 bytes."""
    created = answer(201, ENDPOINT, Location="/files/1", Upload_Offset="10")
    return script(answer(204, ENDPOINT), created, *answers)


def on_tus(options: ResponseHead) -> Script:
    """A script where the OPTIONS answer ``options`` leads to a tus creation and three
    PATCHes of 10, 10 and 5 bytes."""
    return script(
        options,
        answer(201, ENDPOINT, Location="/files/1"),
        answer(204, Upload_Offset="10"),
        answer(204, Upload_Offset="20"),
        answer(204, Upload_Offset="25"),
    )


def pick(fields: dict[str, str], *names: str) -> tuple[str | None, ...]:
    return tuple(fields.get(name) for name in names)


APPEND = ("Upload-Offset", "Upload-Complete", "Content-Length")


def test_a_small_upload_goes_whole_in_the_creation_request_marked_complete() -> None:
    run = script(
        answer(200, ENDPOINT, Upload_Limit="max-size=1000"),
        answer(201, ENDPOINT, Location="/files/1", Upload_Complete="?1"),
    )
    result = run.run(flow(chunk_size=100).upload(plan(metadata={"filename": b"a b.txt"})))
    assert result == UploadResult(UPLOAD, 25, 25)
    (options, options_fields), (post, fields) = run.heads()
    assert (options, options_fields["Upload-Draft-Interop-Version"]) == ("OPTIONS", "8")
    assert post == "POST"
    assert fields["Upload-Complete"] == "?1"
    assert fields["Upload-Length"] == fields["Content-Length"] == "25"
    assert fields["Content-Disposition"] == 'inline; filename="a b.txt"'
    assert fields["Authorization"] == "x"
    assert "Tus-Resumable" not in fields
    assert "Upload-Metadata" not in fields


def test_a_larger_upload_appends_partial_uploads_and_completes_with_the_last() -> None:
    # Interop 7 and later: an append answer need not carry Upload-Offset; a 2xx means the
    # whole content was processed.
    run = opened(
        answer(204, Upload_Complete="?0"),
        answer(200, Upload_Complete="?1"),
    )
    assert run.run(flow().upload(plan())) == UploadResult(UPLOAD, 25, 25)
    post, first, last = (fields for _, fields in run.heads()[1:])
    assert (post["Upload-Complete"], post["Content-Length"]) == ("?0", "10")
    assert pick(first, *APPEND) == ("10", "?0", "10")
    assert first["Content-Type"] == "application/partial-upload"
    assert pick(last, *APPEND) == ("20", "?1", "5")


def test_a_stream_of_unknown_length_completes_with_the_chunk_that_ends_it() -> None:
    run = opened(
        answer(204, Upload_Offset="20"),
        answer(204, Upload_Offset="25"),
    )
    result = run.run(flow().upload(plan(size=None, seekable=False)))
    assert result == UploadResult(UPLOAD, 25, 25)
    post, _, last = (fields for _, fields in run.heads()[1:])
    assert "Upload-Length" not in post
    assert post["Upload-Complete"] == "?0"
    assert (last["Upload-Complete"], last["Content-Length"]) == ("?1", "5")
    assert "Upload-Length" not in last  # Upload-Complete and Content-Length say it


def test_an_interrupted_append_asks_the_offset_with_the_draft_and_goes_on() -> None:
    run = script(
        answer(204, ENDPOINT),
        answer(201, ENDPOINT, Location="/files/1"),
        TransportError("reset"),
        answer(204, Upload_Offset="15", Upload_Complete="?0", Upload_Length="25"),
        answer(204, Upload_Offset="25", Upload_Complete="?1"),
    )
    assert run.run(flow(chunk_size=None).upload(plan())) == UploadResult(UPLOAD, 25, 25)
    methods = [method for method, _ in run.heads()]
    assert methods == ["OPTIONS", "POST", "PATCH", "HEAD", "PATCH"]
    head, patch = run.heads()[3][1], run.heads()[4][1]
    assert head["Upload-Draft-Interop-Version"] == "8"
    assert (patch["Upload-Offset"], patch["Content-Length"]) == ("15", "10")
    assert Sleep(0.5) in run.others


def test_a_mismatching_offset_problem_resyncs_from_its_upload_offset() -> None:
    problem = (
        '{"type":"https://iana.org/assignments/http-problem-types#mismatching-upload-offset",'
        '"title":"offset from request does not match offset of resource",'
        '"expected-offset":20,"provided-offset":10}'
    )
    run = opened(
        answer(409, body=problem, Upload_Offset="20", Content_Type="application/problem+json"),
        answer(204, Upload_Offset="25", Upload_Complete="?1"),
    )
    assert run.run(flow().upload(plan())) == UploadResult(UPLOAD, 25, 25)
    assert run.heads()[-1][1]["Upload-Offset"] == "20"


def test_an_upload_held_whole_but_not_complete_gets_an_empty_completing_append() -> None:
    stored = StoredUpload(str(UPLOAD), len(DATA))
    run = script(
        answer(204, Upload_Offset="25", Upload_Length="25", Upload_Complete="?0"),
        answer(204, Upload_Complete="?1"),
    )
    result = run.run(flow().upload(plan(stored=stored)))
    assert result == UploadResult(UPLOAD, 25, 25, resumed=True)
    (head, _), (patch, fields) = run.heads()
    assert (head, patch) == ("HEAD", "PATCH")
    assert (fields["Upload-Offset"], fields["Content-Length"], fields["Upload-Complete"]) == (
        "25",
        "0",
        "?1",
    )


def test_a_stored_upload_the_server_calls_complete_is_not_touched_again() -> None:
    stored = StoredUpload(str(UPLOAD), len(DATA))
    run = script(answer(204, Upload_Offset="25", Upload_Complete="?1"))
    result = run.run(flow().upload(plan(stored=stored)))
    assert result == UploadResult(UPLOAD, 25, None, resumed=True)
    assert [method for method, _ in run.heads()] == ["HEAD"]


def test_a_new_upload_is_remembered_for_a_later_run() -> None:
    stored = StoredUpload(str(URL("https://h/files/gone")), len(DATA))
    run = script(
        answer(404, URL("https://h/files/gone")),
        answer(204, ENDPOINT),
        answer(201, ENDPOINT, Location="/files/1", Upload_Offset="10"),
        answer(204, Upload_Offset="20"),
        answer(204, Upload_Offset="25", Upload_Complete="?1"),
    )
    run.run(flow().upload(plan(stored=stored)))
    assert run.others[:2] == [Forget(), Remember(UPLOAD, 25)]


def test_interop_version_3_says_upload_incomplete_and_5_has_no_partial_upload_type() -> None:
    run = script(
        answer(204, ENDPOINT),
        answer(201, ENDPOINT, Location="/files/1", Upload_Offset="10", Upload_Incomplete="?1"),
        answer(204, Upload_Offset="20"),
        answer(204, Upload_Offset="25"),
    )
    assert run.run(flow(version=3).upload(plan())) == UploadResult(UPLOAD, 25, 25)
    post, middle, last = (fields for _, fields in run.heads()[1:])
    assert (post["Upload-Incomplete"], middle["Upload-Incomplete"]) == ("?1", "?1")
    assert last["Upload-Incomplete"] == "?0"
    assert "Upload-Complete" not in last
    run = opened(
        answer(204, Upload_Offset="20"),
        answer(204, Upload_Offset="25"),
    )
    run.run(flow(version=5).upload(plan()))
    assert "Content-Type" not in run.heads()[2][1]


def test_upload_limit_max_append_size_caps_the_appends() -> None:
    run = script(
        answer(204, ENDPOINT, Upload_Limit="max-size=100, max-append-size=8, future=?1"),
        answer(201, ENDPOINT, Location="/files/1", Upload_Offset="8"),
        answer(204, Upload_Offset="16"),
        answer(204, Upload_Offset="24"),
        answer(204, Upload_Offset="25", Upload_Complete="?1"),
    )
    assert run.run(flow(chunk_size=None).upload(plan())) == UploadResult(UPLOAD, 25, 25)
    sizes = [fields.get("Content-Length") for _, fields in run.heads()[1:]]
    assert sizes == ["8", "8", "8", "1"]


def test_upload_limit_max_size_refuses_a_larger_source_before_any_data() -> None:
    run = script(answer(204, ENDPOINT, Upload_Limit="max-size=10"))
    with pytest.raises(CapabilityError, match="at most 10"):
        run.run(flow().upload(plan()))


def test_an_explicit_draft_refuses_what_it_cannot_carry_before_any_request() -> None:
    run = script()
    with pytest.raises(CapabilityError, match="not note"):
        run.run(flow().upload(plan(metadata={"filename": b"a", "note": b"x"})))
    with pytest.raises(CapabilityError, match="Upload-Checksum"):
        run.run(flow().upload(plan(checksum="sha1")))
    assert run.sent == []


def test_a_server_that_answers_in_tus_does_not_speak_this_interop_version() -> None:
    run = script(
        answer(200, ENDPOINT, Tus_Version="1.0.0", Tus_Resumable="1.0.0"),
        answer(412, ENDPOINT, Tus_Resumable="1.0.0"),
    )
    with pytest.raises(CapabilityError, match="interop version 8"):
        run.run(flow().upload(plan()))


def test_auto_speaks_the_draft_where_options_announces_it() -> None:
    run = script(
        answer(200, ENDPOINT, Tus_Version="1.0.0", Upload_Limit="min-size=0"),
        answer(201, ENDPOINT, Location="/files/1", Upload_Offset="10"),
        answer(204, Upload_Offset="20"),
        answer(204, Upload_Offset="25", Upload_Complete="?1"),
    )
    run.run(flow(Choice.AUTO, version=6).upload(plan()))
    (_, options), (_, post) = run.heads()[:2]
    assert options["Upload-Draft-Interop-Version"] == "6"
    assert post["Upload-Draft-Interop-Version"] == "6"
    assert "Tus-Resumable" not in post


@pytest.mark.parametrize(
    "announce",
    [
        {"Accept_Patch": "application/merge-patch+json, application/partial-upload"},
        {"Upload_Draft_Interop_Version": "8"},
    ],
)
def test_auto_reads_accept_patch_and_an_echoed_version_too(announce: dict[str, str]) -> None:
    run = script(
        answer(200, ENDPOINT, **announce),
        answer(200, ENDPOINT, Location="/files/1", Upload_Complete="?1"),
    )
    run.run(flow(Choice.AUTO, chunk_size=100).upload(plan()))
    assert run.heads()[1][1]["Upload-Complete"] == "?1"


def test_auto_falls_back_to_tus_without_a_second_options() -> None:
    run = on_tus(answer(200, ENDPOINT, Tus_Version="1.0.0", Tus_Extension="creation"))
    assert run.run(flow(Choice.AUTO).upload(plan())) == UploadResult(UPLOAD, 25, 25)
    methods = [method for method, _ in run.heads()]
    assert methods == ["OPTIONS", "POST", "PATCH", "PATCH", "PATCH"]
    assert all(fields.get("Tus-Resumable") == "1.0.0" for _, fields in run.heads()[1:])


def test_auto_keeps_tus_for_an_upload_the_draft_cannot_carry() -> None:
    run = on_tus(
        answer(200, ENDPOINT, Tus_Version="1.0.0", Tus_Checksum_Algorithm="sha1", Upload_Limit="")
    )
    run.run(flow(Choice.AUTO).upload(plan(checksum="sha1")))
    assert "Upload-Checksum" in run.heads()[2][1]


def test_a_failed_creation_reads_its_problem_details_as_one_line() -> None:
    problem = (
        '{"type":"https://iana.org/assignments/http-problem-types#inconsistent-upload-length",'
        '"title":"inconsistent length values for upload"}'
    )
    run = script(
        answer(204, ENDPOINT),
        answer(400, ENDPOINT, body=problem, Content_Type="application/problem+json"),
    )
    with pytest.raises(ResponseError) as info:
        run.run(flow(chunk_size=100).upload(plan()))
    assert info.value.message == (
        "POST https://h/files/ answered 400: inconsistent length values for upload "
        "(inconsistent-upload-length)"
    )


def test_parallel_parts_fall_back_to_one_draft_upload_and_keep_auto_on_tus() -> None:
    split = plan(parallel=2)
    run = opened(answer(204, Upload_Offset="20"), answer(204, Upload_Complete="?1"))
    assert run.run(flow().upload(split)) == UploadResult(UPLOAD, 25, 25)
    assert [method for method, _ in run.heads()] == ["OPTIONS", "POST", "PATCH", "PATCH"]
    run = on_tus(answer(200, ENDPOINT, Tus_Version="1.0.0", Upload_Limit="max-size=100"))
    run.run(flow(Choice.AUTO).upload(split))
    assert run.heads()[1][1].get("Tus-Resumable") == "1.0.0"


def test_a_bare_creation_refuses_metadata_the_draft_cannot_carry() -> None:
    header = encode_metadata({"note": b"x"})
    with pytest.raises(CapabilityError, match="not note"):
        next(flow().create(ENDPOINT, length=5, metadata_header=header))
