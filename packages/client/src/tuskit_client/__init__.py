"""tuskit_client: an asyncio tus 1.0.0 client on aiohttp, call-compatible with aiotus.

Design, from the wire up: ``_steps`` builds and checks message heads (pure), ``_retry``
decides what a failure means (pure), ``_flow`` makes every decision of an upload as a
generator of commands (pure), ``_http`` moves heads and bodies over one
``aiohttp.ClientSession``, ``_engine`` carries out the flow's commands, ``_client`` adds
sources, resume stores and parallel parts; :mod:`tuskit_client.sync` drives the same flow
over blocking sockets. Two front doors sit on top:

- aiotus's: :func:`upload`, :func:`metadata`, :func:`upload_multiple`,
  :class:`RetryConfiguration`, and the low-level :mod:`tuskit_client.core` and
  :mod:`tuskit_client.creation` modules. They return None on failure and log why.
- the raising one: :class:`Client` (tus 1.0.0, or the IETF resumable-upload draft with
  ``protocol=``), whose failures are the typed errors of
  :mod:`tuskit_client.exceptions` and whose uploads return an :class:`UploadResult`; and
  its blocking twin, :class:`tuskit_client.sync.Client`.
"""

from tuskit_client import core, creation, retry, sync
from tuskit_client._client import Client
from tuskit_client._draft_fields import DRAFT_VERSIONS
from tuskit_client._draft_fields import LATEST as LATEST_DRAFT
from tuskit_client._results import UploadInfo, UploadResult
from tuskit_client._resume import (
    JSONFileStore,
    MemoryStore,
    StoredUpload,
    SyncURLStore,
    URLStore,
)
from tuskit_client._sources import SourceLike
from tuskit_client._types import (
    DEFAULT_CHUNK_SIZE,
    Metadata,
    ProgressCallback,
    RetryConfiguration,
    ShouldRetry,
    SSLArgument,
)
from tuskit_client._version import __version__
from tuskit_client._wire import PROTOCOLS
from tuskit_client.core import ServerConfiguration
from tuskit_client.exceptions import (
    CapabilityError,
    ProtocolError,
    ResponseError,
    SourceError,
    SourceTruncated,
    TransportError,
    TusClientError,
    UploadNotFound,
)
from tuskit_client.retry import delete, metadata, upload, upload_multiple

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DRAFT_VERSIONS",
    "LATEST_DRAFT",
    "PROTOCOLS",
    "CapabilityError",
    "Client",
    "JSONFileStore",
    "MemoryStore",
    "Metadata",
    "ProgressCallback",
    "ProtocolError",
    "ResponseError",
    "RetryConfiguration",
    "SSLArgument",
    "ServerConfiguration",
    "ShouldRetry",
    "SourceError",
    "SourceLike",
    "SourceTruncated",
    "StoredUpload",
    "SyncURLStore",
    "TransportError",
    "TusClientError",
    "URLStore",
    "UploadInfo",
    "UploadNotFound",
    "UploadResult",
    "__version__",
    "core",
    "creation",
    "delete",
    "metadata",
    "retry",
    "sync",
    "upload",
    "upload_multiple",
]
