"""S3Store against the store contract, on a real S3-compatible server (moto, or the service
the ``TUSKIT_TEST_S3_*`` variables name); its own promises are in test_server_s3_layout."""

from collections.abc import AsyncIterator

import pytest
from tus_s3_testing import S3Target
from tus_server_contracts import StoreContract

from tuskit_server.stores.s3 import S3Store, S3StoreError


async def open_store(s3: S3Target, **kwargs: object) -> S3Store:
    bucket, prefix = await s3.fresh()
    store = S3Store(bucket, prefix, **{**s3.store_kwargs(), **kwargs})
    await store.open()
    return store


class TestS3Store(StoreContract):
    @pytest.fixture
    async def store(self, s3: S3Target) -> AsyncIterator[S3Store]:
        store = await open_store(s3)
        yield store
        await store.close()


async def test_open_names_a_missing_bucket_in_one_line(s3: S3Target) -> None:
    store = S3Store("tuskit-no-such-bucket-0", **s3.store_kwargs())
    with pytest.raises(S3StoreError) as raised:
        await store.open()
    message = str(raised.value)
    assert "tuskit-no-such-bucket-0" in message
    assert "\n" not in message


async def test_open_names_an_unreachable_endpoint() -> None:
    store = S3Store(
        "b",
        endpoint_url="http://127.0.0.1:9",
        region="us-east-1",
        access_key="a",
        secret_key="b",
        attempts=1,
    )
    with pytest.raises(S3StoreError, match="cannot be used"):
        await store.open()


@pytest.mark.parametrize("size", [1024, 6 * 1024**3])
def test_part_size_outside_s3s_part_sizes_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="part_size"):
        S3Store("b", part_size=size)
