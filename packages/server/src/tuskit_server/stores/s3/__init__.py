"""S3Store: tus uploads in S3-compatible object storage (extra ``tuskit-server[s3]``)."""

from tuskit_server.stores.s3._connection import S3StoreError
from tuskit_server.stores.s3.store import S3Store

__all__ = ["S3Store", "S3StoreError"]
