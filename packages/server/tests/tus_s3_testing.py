"""An S3-compatible server for the S3Store tests: moto's standalone server started on a free
loopback port (and stopped after), or the service the environment names.

Environment (all optional; without them moto is started):

- ``TUSKIT_TEST_S3_ENDPOINT``: an S3-compatible endpoint (MinIO: ``http://127.0.0.1:9000``);
  ``aws`` for AWS itself. Credentials then come from the standard AWS variables
  (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``).
- ``TUSKIT_TEST_S3_BUCKET``: an existing bucket to test in (every test then works under a
  prefix of its own); without it each test creates a bucket of its own.
- ``TUSKIT_TEST_S3_REGION``: the region (default ``us-east-1``).
"""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiobotocore.session import get_session

from integration_tests.processes import stop_process

__all__ = ["S3Target", "moto_server", "s3_target"]

_START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class S3Target:
    """Where the tests' buckets are, and how to reach them."""

    endpoint_url: str | None
    region: str
    access_key: str | None
    secret_key: str | None
    bucket: str | None

    def store_kwargs(self) -> dict[str, Any]:
        """The S3Store keyword arguments reaching this target."""
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
        }

    async def fresh(self) -> tuple[str, str]:
        """A bucket and prefix no other test uses: a new bucket, or a new prefix."""
        if self.bucket is not None:
            return self.bucket, f"tuskit-test-{uuid.uuid4().hex}/"
        name = f"tuskit-test-{uuid.uuid4().hex[:20]}"
        async with get_session().create_client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        ) as client:
            await client.create_bucket(Bucket=name)
        return name, ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Run ``moto.server`` on a free loopback port; yields its URL.

    Raises:
        RuntimeError: moto is missing or did not start (with its output).
    """
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + _START_TIMEOUT
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(
                        "moto's S3 server did not start (is moto[server] installed? "
                        f"uv sync --group test-aiohttp):\n{output}"
                    )
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(process)


@contextlib.contextmanager
def s3_target() -> Iterator[S3Target]:
    """The environment's S3 service, else a moto server for as long as the block runs."""
    region = os.environ.get("TUSKIT_TEST_S3_REGION", "us-east-1")
    bucket = os.environ.get("TUSKIT_TEST_S3_BUCKET") or None
    endpoint = os.environ.get("TUSKIT_TEST_S3_ENDPOINT")
    if endpoint:
        url = None if endpoint == "aws" else endpoint
        yield S3Target(url, region, None, None, bucket)
        return
    with moto_server() as url:
        yield S3Target(url, region, "testing", "testing", bucket)
