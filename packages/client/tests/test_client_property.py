"""Property: whatever failures the server injects, the upload ends with exactly the source's
bytes on the server, or with one of the client's own errors - never corrupt data, a hang or
a stray exception type."""

import asyncio
import random
from collections.abc import AsyncIterator

from aiohttp.test_utils import TestServer
from fake_tus import FakeTus, Fault
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuskit_client import Client, RetryConfiguration, TusClientError

FAULTS = st.one_of(
    st.builds(
        Fault,
        method=st.sampled_from(["PATCH", "PATCH", "HEAD", "POST"]),
        status=st.sampled_from([500, 502, 503, 504, 423, 409, 403, 404, 410]),
        retry_after=st.sampled_from([None, "0"]),
    ),
    st.builds(Fault, method=st.just("PATCH"), drop_after=st.integers(0, 20_000)),
    st.builds(Fault, method=st.just("PATCH"), keep=st.integers(0, 20_000)),
)


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for index in range(0, len(data), size):
        yield data[index : index + size]


async def _scenario(
    data: bytes,
    faults: list[Fault],
    chunk_size: int | None,
    stream: bool,
    checksum: bool,
    with_upload: bool,
    parallel: int,
) -> None:
    extensions = ("creation", "creation-defer-length", "checksum", "concatenation") + (
        ("creation-with-upload",) if with_upload else ()
    )
    fake = FakeTus(extensions=extensions)
    fake.faults = list(faults)
    if checksum:
        fake.faults.insert(len(faults) // 2, Fault("PATCH", corrupt=True))
    server = TestServer(fake.app)
    await server.start_server()
    config = RetryConfiguration(retry_attempts=3, base_delay_seconds=0, max_retry_period_seconds=0)

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    try:
        async with Client(
            server.make_url("/files/"), config=config, chunk_size=chunk_size, sleep=no_sleep
        ) as client:
            source = _pieces(data, 3_333) if stream else data
            try:
                result = await asyncio.wait_for(
                    client.upload(source, checksum="sha1" if checksum else None, parallel=parallel),
                    timeout=30,
                )
            except TusClientError:
                pass
            else:
                upload = fake.uploads[result.url.name]
                assert bytes(upload.data) == data
                assert upload.length == len(data) == result.offset
                assert upload.final == bool(result.parts)
        for upload in fake.uploads.values():
            if upload.partial:  # holds a slice from somewhere inside the source
                assert bytes(upload.data) in data
            else:
                assert bytes(upload.data) == data[: len(upload.data)]
    finally:
        await server.close()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    size=st.integers(0, 70_000),
    seed=st.integers(0, 2**32),
    faults=st.lists(FAULTS, max_size=8),
    chunk_size=st.sampled_from([None, 7_000, 16_384, 65_536]),
    stream=st.booleans(),
    checksum=st.booleans(),
    with_upload=st.booleans(),
    parallel=st.sampled_from([1, 1, 3]),
)
def test_any_failure_sequence_ends_exact_or_clean(
    size: int,
    seed: int,
    faults: list[Fault],
    chunk_size: int | None,
    stream: bool,
    checksum: bool,
    with_upload: bool,
    parallel: int,
) -> None:
    data = random.Random(seed).randbytes(size)
    if chunk_size is None:
        stream = checksum = False  # both need a chunk size (validated elsewhere)
    asyncio.run(_scenario(data, faults, chunk_size, stream, checksum, with_upload, parallel))
