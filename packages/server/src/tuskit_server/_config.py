"""The frozen configuration of one ``setup_tus`` call, and its option types. No I/O."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from aiohttp import web

from tuskit_common import Extension, Resource
from tuskit_server._paths import format_upload_path
from tuskit_server._quotas import Limits
from tuskit_server.hooks import Hooks
from tuskit_server.locks import Locker
from tuskit_server.stores.base import DataStore

if TYPE_CHECKING:  # prometheus-client is an extra: imported only by whoever passes Metrics
    from tuskit_server.metrics import Metrics

__all__ = ["Cors", "Decorator", "Expiration", "FileNames", "Handler", "OnUploadDone", "TusConfig"]

Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: aiohttp-tus's ``decorator``: wraps every tus view except OPTIONS.
Decorator: TypeAlias = Callable[[Handler], Handler]
#: aiohttp-tus's ``on_upload_done(request, resource, file_path)``; file_path is None for
#: stores without local files.
OnUploadDone: TypeAlias = Callable[[web.Request, Resource, Path | None], Awaitable[None]]
#: Where a finished upload's bytes end up: ``"name"`` at ``upload_path/<filename>``
#: (aiohttp-tus), ``"id"`` under the upload id (tusd's layout).
FileNames: TypeAlias = Literal["name", "id"]


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Cors:
    """Built-in CORS (digest §4.7). The default allows any origin, like tusd and @tus/server.

    Attributes:
        origins: allowed origins (``"*"`` for any); others get 403.
        credentials: send ``Access-Control-Allow-Credentials: true`` (never with a bare ``*``:
            the request's origin is echoed instead).
        max_age: preflight cache lifetime in seconds.
        expose_headers / allow_headers: extra names on top of the tus ones.
    """

    origins: Sequence[str] = ("*",)
    credentials: bool = False
    max_age: int = 86400
    allow_headers: Sequence[str] = ()
    expose_headers: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Expiration:
    """Expiry of unfinished uploads, counted from their last write (digest §3.4).

    Attributes:
        after: idle time after which an unfinished upload expires (default 7 days).
        sweep_interval: how often the background sweeper runs.
        tombstone_ttl: how long an expired or terminated id answers 410 before it is forgotten
            (404 afterwards).
    """

    after: timedelta = timedelta(days=7)
    sweep_interval: timedelta = timedelta(minutes=10)
    tombstone_ttl: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class TusConfig:
    """Everything one ``setup_tus`` call configured (see its docstring for each option);
    ``TusConfig(upload_path=..., upload_url=...)`` builds one as aiohttp-tus's ``Config``."""

    upload_url: str
    upload_path: Path | None = None
    store: DataStore | None = None
    file_names: FileNames = "name"
    upload_resource_name: str | None = None
    allow_overwrite_files: bool = False
    decorator: Decorator | None = None
    on_upload_done: OnUploadDone | None = None
    json_dumps: Callable[[Any], str] | None = None
    json_loads: Callable[[str], Any] | None = None
    locker: Locker | None = None
    max_size: int | None = None
    hooks: Hooks = field(default_factory=Hooks)
    cors: Cors | None = field(default_factory=Cors)
    expiration: Expiration | None = field(default_factory=Expiration)
    checksum_algorithms: tuple[str, ...] = ("sha1", "md5", "sha256", "sha512", "crc32")
    lock_timeout: float = 20.0
    download: bool = True
    metadata_limit: int = 4096
    behind_proxy: bool = False
    extensions: frozenset[Extension] | None = None
    idle_timeout: float = 60.0
    read_size: int = 1024 * 1024
    splice_min: int | None = 1024 * 1024
    splice_threads: int = 32
    protect_finished: bool = False
    retry_after: int = 5
    clock: Callable[[], datetime] = utc_now
    id_factory: Callable[[], str] | None = None
    accept_content_encoding: bool = False
    takeover_after: float = 2.0
    max_partials: int = 64
    limits: Limits | None = None
    ietf_draft: bool = False
    metrics: "Metrics | None" = None

    def resolve_upload_path(self, match_info: Mapping[str, str]) -> Path:
        """The upload directory of a request: ``upload_path`` with its ``{placeholders}``
        formatted from ``match_info`` (aiohttp-tus's method of the same name).

        Raises:
            ValueError: no ``upload_path`` (a ``store`` was given), or a match_info value
                that is missing or could leave the directory.
        """
        if self.upload_path is None:
            raise ValueError("this configuration has no upload_path (it uses a store)")
        return format_upload_path(self.upload_path, match_info)
