"""Opening the aiobotocore client of an S3Store and proving its bucket reachable, so that a
wrong endpoint, bucket or credentials stop the server at start-up with one line."""

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

__all__ = ["Connection", "S3StoreError"]


class S3StoreError(RuntimeError):
    """The bucket cannot be used (raised by :meth:`S3Store.open`, one readable line)."""


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the bucket is and how to reach it; credentials default to the AWS chain
    (environment, shared profile, instance role)."""

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    #: botocore's attempts per call (standard retry mode) before a failure is reported.
    attempts: int = 3
    #: connections to S3 kept per store (every PATCH uses one at a time).
    connections: int = 32

    def where(self) -> str:
        return f"s3://{self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    async def open(self, stack: AsyncExitStack) -> "S3Client":
        """The client, entered into ``stack``, once a HeadBucket succeeded.

        Raises:
            S3StoreError: the bucket cannot be reached (wrong endpoint, name or credentials).
        """
        config = AioConfig(
            retries={"max_attempts": self.attempts, "mode": "standard"},
            max_pool_connections=self.connections,
            connect_timeout=10,
            read_timeout=60,
        )
        try:
            client = await stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key,
                    config=config,
                )
            )
            await client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            reason = error.get("Message") or error.get("Code") or "refused"
            raise S3StoreError(f"{self.where()} cannot be used: {reason}") from None
        except (BotoCoreError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise S3StoreError(f"{self.where()} cannot be used: {exc}") from None
        return client
