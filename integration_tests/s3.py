"""moto's S3 server for the integration tests, started on a free loopback port by the
``moto_s3`` fixture (``conftest.py``) with the harness that runs every test server, and a
tus server on S3Store (:mod:`integration_tests.s3_app`) in front of it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session

from integration_tests.harness import HttpProbe, RunningServer, free_port, running_server

__all__ = ["CREDENTIALS", "MotoS3", "moto_s3_server", "tus_on_s3_argv"]

#: What moto accepts (any key); the servers get them as the standard AWS variables.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
APP = Path(__file__).with_name("s3_app.py")


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
