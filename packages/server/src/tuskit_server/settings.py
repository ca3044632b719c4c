"""The settings of a standalone server (``tus serve``, ``python -m tuskit_server``).

One :class:`ServerSettings` model is the only list of options: the command line
(:mod:`tuskit_server.command`) is generated from :data:`OPTIONS`, and every option is also
read from a ``TUSKIT_<NAME>`` environment variable and from a ``<name>`` key of an optional
TOML file (``--config``). Precedence: flag > environment > file > default. No I/O but
reading that file.
"""

import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tuskit_common import ALGORITHMS, Extension
from tuskit_server._config import Expiration
from tuskit_server._setting_options import ENV_PREFIX, Option, options_of
from tuskit_server._setting_values import (
    RedisUrl,
    S3Location,
    Seconds,
    Size,
    SizeOrUnlimited,
    StoreLocation,
    Words,
    duration,
    duration_or_never,
    size,
    url_path,
)
from tuskit_server.hook_events import DEFAULT_EVENTS, check_events

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "OPTIONS",
    "Option",
    "ServerSettings",
    "SettingsError",
    "load_settings",
]

#: The option naming the TOML file (a flag and an environment variable, not a file key).
CONFIG_ENV = ENV_PREFIX + "CONFIG"

#: S3's smallest part but the last and its largest part (S3Store's own bounds; kept here so
#: the settings need no S3 library).
_MIN_PART = 5 << 20
_MAX_PART = 5 << 30
_S3_OPTIONS = ("s3_endpoint", "s3_region", "s3_part_size")


class SettingsError(ValueError):
    """A bad option value: the message names the option and the accepted form."""


class ServerSettings(BaseSettings):
    """Every option of the standalone server, with its default."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=False
    )

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(1080, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    unix_socket: Path | None = Field(
        None, description="Listen on this Unix socket instead of host and port."
    )
    storage: Path = Field(Path("uploads"), description="Upload directory (created if missing).")
    store: StoreLocation | None = Field(
        None, description="Where uploads live: a directory (as --storage) or s3://bucket/prefix."
    )
    s3_endpoint: str | None = Field(
        None, description="S3-compatible service URL (MinIO, Ceph, R2); none: AWS."
    )
    s3_region: str | None = Field(
        None, description="The bucket's region; none: from the AWS configuration."
    )
    s3_part_size: Size = Field(
        _MIN_PART, description="Smallest S3 part (5MiB to 5GiB); parts grow with the upload."
    )
    base_path: str = Field("/files/", description="URL path of the creation endpoint.")
    max_size: SizeOrUnlimited = Field(
        10 << 30, description="Largest upload, e.g. 2GiB, or 'unlimited'."
    )
    metadata_limit: Size = Field(4096, description="Largest Upload-Metadata header.")
    expire_after: Annotated[float | None, Field(gt=0), BeforeValidator(duration_or_never)] = Field(
        7 * 86400.0,
        description="Idle time after which unfinished uploads expire, e.g. 24h, or 'never'.",
    )
    expire_interval: Seconds = Field(
        600.0, description="How often each server looks for expired uploads."
    )
    checksum: Words = Field(
        list(ALGORITHMS), description="Checksum algorithms to offer (sha1 is required)."
    )
    cors_origin: Words = Field(["*"], description="Allowed browser origins ('*': any).")
    disable: Words = Field([], description="tus extensions to switch off, e.g. termination.")
    download: bool = Field(True, description="Serve finished uploads on GET.")
    behind_proxy: bool = Field(
        False, description="Trust Forwarded / X-Forwarded-Host / -Proto for upload URLs."
    )
    ietf_draft: bool = Field(
        False, description="Also serve the IETF resumable-upload draft (interop versions 3-8)."
    )
    tls_cert: Path | None = Field(None, description="PEM certificate chain: serve HTTPS.")
    tls_key: Path | None = Field(None, description="PEM private key (if not in --tls-cert).")
    lock_timeout: Seconds = Field(20.0, description="Wait for a busy upload before 423.")
    idle_timeout: Seconds = Field(60.0, description="Longest stall of a PATCH body.")
    shutdown_timeout: Seconds = Field(10.0, description="Grace for requests on shutdown.")
    header_timeout: Seconds = Field(
        10.0, description="Time a new connection has to send its request head."
    )
    keepalive_timeout: Seconds = Field(
        15.0, description="Time an idle connection is kept open after a response."
    )
    max_connections: int | None = Field(
        None, ge=1, description="Open connections per process; more get 503 (default: fd limit)."
    )
    max_stored: Annotated[int | None, Field(ge=1), BeforeValidator(size)] = Field(
        None, description="Bytes all uploads may take together; more: 507."
    )
    max_in_progress: int | None = Field(
        None, ge=1, description="Unfinished uploads at most; more: 503."
    )
    uploads_per_minute: int | None = Field(
        None, ge=1, description="Uploads one client address may create per minute; more: 429."
    )
    workers: int = Field(1, ge=1, description="Server processes sharing the port.")
    locker: RedisUrl | None = Field(
        None, description="Share upload locks with other servers through this Redis URL."
    )
    splice_min: Size = Field(
        1 << 20, description="Bodies this large move socket-to-file in the kernel; 0: never."
    )
    hooks_http: str | None = Field(
        None, description="POST each hook event as tusd's JSON to this http(s) URL."
    )
    hooks_http_timeout: Seconds = Field(30.0, description="Wait this long for the receiver.")
    hooks_http_retry: int = Field(
        3, ge=0, description="Retries after a network error or a 5xx from the receiver."
    )
    hooks_http_backoff: Annotated[float, Field(ge=0), BeforeValidator(duration)] = Field(
        1.0, description="Pause between those retries."
    )
    hooks_dir: Path | None = Field(
        None, description="Run the executable named after each hook event in this directory."
    )
    hooks_dir_timeout: Seconds = Field(30.0, description="Longest run of a hook executable.")
    hooks_enabled_events: Words = Field(
        list(DEFAULT_EVENTS), description="Hook events to send (pre-create, post-receive, ...)."
    )
    demo: bool = Field(False, description="Serve a browser upload page at /.")
    health: bool = Field(True, description="Serve the liveness and readiness endpoints.")
    healthz_path: str = Field("/healthz", description="Liveness endpoint (200 while up).")
    readyz_path: str = Field("/readyz", description="Readiness endpoint (store and locks).")
    metrics: bool = Field(True, description="Serve Prometheus metrics.")
    metrics_path: str = Field("/metrics", description="Prometheus metrics endpoint.")
    access_log: bool = Field(True, description="Log one line per request on stderr.")
    log_format: Literal["text", "json"] = Field("text", description="Access log: text or json.")
    verbose: bool = Field(False, description="Debug logging and tracebacks.")

    _check_paths = field_validator(
        "base_path", "healthz_path", "readyz_path", "metrics_path", mode="after"
    )(url_path)

    @field_validator("checksum", mode="after")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in ALGORITHMS:
                raise ValueError(f"{name!r} is not one of {', '.join(ALGORITHMS)}")
        if value and "sha1" not in value:
            raise ValueError("the checksum extension requires sha1")
        return value

    @field_validator("hooks_enabled_events", mode="after")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        """Also ``--hooks-enabled-events pre-create,post-finish``, as tusd spells it."""
        events = [part.strip() for item in value for part in item.split(",") if part.strip()]
        return list(check_events(events))

    @field_validator("hooks_http", "s3_endpoint", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @field_validator("s3_part_size", mode="after")
    @classmethod
    def _s3_part(cls, value: int) -> int:
        if not _MIN_PART <= value <= _MAX_PART:
            raise ValueError("S3 parts are between 5MiB and 5GiB")
        return value

    @field_validator("disable", mode="after")
    @classmethod
    def _known_extensions(cls, value: list[str]) -> list[str]:
        names = [e.value for e in Extension]
        for name in value:
            if name not in names:
                raise ValueError(f"{name!r} is not one of {', '.join(names)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "ServerSettings":
        if self.tls_key is not None and self.tls_cert is None:
            raise ValueError("--tls-key needs --tls-cert")
        if self.unix_socket is not None and self.workers > 1:
            raise ValueError("--unix-socket needs --workers 1")
        if self.hooks_http is not None and self.hooks_dir is not None:
            raise ValueError("--hooks-http and --hooks-dir cannot be combined (choose one)")
        if self.demo and self.base_path.rstrip("/") == "":
            raise ValueError("--demo serves its page at /: it needs a --base-path other than /")
        if self.store is not None and "storage" in self.model_fields_set:
            raise ValueError("--store and --storage both name where uploads live: give one")
        if self.s3 is not None and (self.max_stored, self.max_in_progress) != (None, None):
            raise ValueError("--max-stored and --max-in-progress need a directory --store")
        if self.s3 is None and self.model_fields_set.intersection(_S3_OPTIONS):
            raise ValueError("--s3-endpoint, --s3-region and --s3-part-size need --store s3://...")
        return self

    @property
    def s3(self) -> S3Location | None:
        """The bucket and prefix of ``--store s3://...``; None for a directory."""
        return None if self.store is None else S3Location.parse(self.store)

    @property
    def upload_dir(self) -> Path | None:
        """The file store's directory (``--store DIR`` or ``--storage``); None on S3."""
        if self.store is None:
            return self.storage
        return None if self.s3 is not None else Path(self.store)

    @property
    def expiration(self) -> Expiration | None:
        """``expire_after`` and ``expire_interval`` as setup_tus takes them."""
        if self.expire_after is None:
            return None
        return Expiration(
            after=timedelta(seconds=self.expire_after),
            sweep_interval=timedelta(seconds=self.expire_interval),
        )

    @property
    def extensions(self) -> tuple[Extension, ...] | None:
        """The extensions to offer (None: all the store can do)."""
        if not self.disable:
            return None
        return tuple(e for e in Extension if e.value not in self.disable)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (passed as keywords) over the environment over the TOML file."""
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


#: Every option, in the model's order.
OPTIONS: tuple[Option, ...] = options_of(ServerSettings)
_BY_NAME = {option.name: option for option in OPTIONS}


def load_settings(
    flags: Mapping[str, Any], *, config: Path | None = None, environ: Mapping[str, str] = os.environ
) -> ServerSettings:
    """The settings from the given ``flags`` (None values left out), the ``TUSKIT_*``
    environment and the TOML file ``config`` (else ``$TUSKIT_CONFIG``), in that order.

    Raises:
        SettingsError: a bad value or file; the message names where it came from.
    """
    given = {k: v for k, v in flags.items() if v is not None}
    if config is None and environ.get(CONFIG_ENV):
        config = Path(environ[CONFIG_ENV])
    settings_cls: type[ServerSettings] = ServerSettings
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"--config: {str(config)!r} is not a readable TOML file")

        class FromFile(ServerSettings):
            model_config = SettingsConfigDict(toml_file=config)

        settings_cls = FromFile
    try:
        return settings_cls(**given)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, given, config, environ)) from None
    except ValueError as exc:  # tomllib.TOMLDecodeError and the like
        raise SettingsError(f"--config: {config}: {exc}") from None


def _describe(
    exc: ValidationError, given: Mapping[str, Any], config: Path | None, environ: Mapping[str, str]
) -> str:
    """The first error as one line: where the value came from, the value, what is accepted."""
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    name = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "extra_forbidden":
        return f"{config}: unknown key {name!r} (see tus serve --help for the options)"
    option = _BY_NAME.get(name)
    if option is None:  # a rule across options
        return message
    env = {key.upper(): key for key in environ}
    if name in given:
        where, value = option.flag, given[name]
    elif option.env in env:
        where, value = option.env, environ[env[option.env]]
    else:
        where, value = f"{name} in {config}", error.get("input")
    if (isinstance(value, Sequence) and not isinstance(value, str)) or message.startswith(
        ("'", "expected ")
    ):
        return f"{where}: {message}"
    return f"{where}: {value!r} is not valid: {message}"
