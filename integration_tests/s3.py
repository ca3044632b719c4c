"""moto's S3 server for the integration tests, started on a free loopback port by the
``moto_s3`` fixture (``conftest.py``) with the harness that runs every test server, and a
tus server on S3Store (:mod:`integration_tests.s3_app`) in front of it; plus the paced PATCH
body the fault tests cut off once S3 holds one part."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session

from integration_tests.harness import HttpProbe, RunningServer, free_port, running_server

__all__ = ["CREDENTIALS", "MotoS3", "moto_s3_server", "paced_past_a_part", "tus_on_s3_argv"]

#: What moto accepts (any key); the servers get them as the standard AWS variables.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
APP = Path(__file__).with_name("s3_app.py")
_MIB = 1024 * 1024
_PIECE = 256 * 1024


async def paced_past_a_part(data: bytes, gate: asyncio.Event) -> AsyncIterator[bytes]:
    """``data``'s first 6 MiB in 256 KiB pieces (past one 5 MiB S3 part), then, once ``gate``
    is set, its 7th MiB: the test breaks the upload while the body waits at the gate."""
    for start in range(0, 6 * _MIB, _PIECE):
        yield data[start : start + _PIECE]
    await gate.wait()
    yield data[6 * _MIB : 7 * _MIB]


@dataclass(frozen=True, slots=True)
class MotoS3:
    """A running moto server."""

    url: str
    server: RunningServer

    def client(self) -> Any:
        """A blocking botocore S3 client on moto (for checks from a thread)."""
        return botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def parts_landed(self, bucket: str) -> int:
        """How many parts the bucket's first multipart upload holds (asked of moto)."""
        client = self.client()
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        if not uploads:
            return 0
        upload = uploads[0]
        listed = client.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        return len(listed.get("Parts", []))

    async def wait_for_part(self, bucket: str) -> None:
        """Until a first part of an upload has reached the bucket (30 s at most)."""
        for _ in range(600):
            if await asyncio.to_thread(self.parts_landed, bucket) >= 1:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("no part reached S3 within 30 s")

    def new_bucket(self) -> str:
        """Create a bucket of its own for a test."""
        name = f"tuskit-it-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextmanager
def moto_s3_server(log_dir: Path) -> Iterator[MotoS3]:
    """Run ``moto.server`` until the block ends (fails with its output if it cannot start)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running_server(argv, ready=HttpProbe(url, method="GET"), log_dir=log_dir) as server:
        yield MotoS3(url, server)


def tus_on_s3_argv(port: int, endpoint_url: str, bucket: str, *extra: str) -> Sequence[str]:
    """The command line of a tus server on S3Store at ``endpoint_url``."""
    return [
        sys.executable,
        str(APP),
        "--port",
        str(port),
        "--endpoint-url",
        endpoint_url,
        "--bucket",
        bucket,
        *extra,
    ]
