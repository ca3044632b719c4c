"""Start the standalone server from its :class:`~tuskit_server.settings.ServerSettings`.

The one code path behind ``tus serve`` and ``python -m tuskit_server``: it checks what can
be checked before the port opens (the storage directory is writable, the certificate
loads, the ``--locker`` Redis answers) and turns every start-up failure into a
:class:`StartupError` of one line.
"""

import asyncio
import contextlib
import errno
import logging
import os
import ssl
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from tuskit_server._app import serve
from tuskit_server._config import Cors
from tuskit_server._quotas import Limits
from tuskit_server.access_log import LineWriter
from tuskit_server.errors import LockUnavailable
from tuskit_server.file_hooks import FileHooks
from tuskit_server.health import Health
from tuskit_server.hooks import Hooks
from tuskit_server.http_hooks import HttpHooks
from tuskit_server.locks import Locker
from tuskit_server.log import access_logger
from tuskit_server.settings import ServerSettings

__all__ = ["StartupError", "run"]

#: Where prometheus-client's multiprocess mode keeps the counters of every process.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class StartupError(RuntimeError):
    """The server could not start; the message is one line for the operator."""


def check_storage(settings: ServerSettings) -> None:
    """Create the storage directory and prove it writable.

    Raises:
        StartupError: it cannot be created or written.
    """
    storage = settings.storage
    try:
        storage.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=storage, prefix=".tuskit-write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StartupError(f"storage {storage} cannot be used: {reason}") from exc


def tls_context(settings: ServerSettings) -> ssl.SSLContext | None:
    """The server's TLS context, or None without ``tls_cert``.

    Raises:
        StartupError: the certificate or key cannot be read or do not match.
    """
    if settings.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise StartupError(f"TLS certificate {settings.tls_cert} cannot be used: {reason}") from exc
    return context


def shared_locker(settings: ServerSettings) -> Locker | None:
    """The :class:`~tuskit_server.locks.redis.RedisLocker` of ``--locker``, once Redis answers
    (checked before the port opens); None without ``--locker``.

    Raises:
        StartupError: redis-py is not installed, or Redis cannot be reached.
    """
    if settings.locker is None:
        return None
    try:
        from tuskit_server.locks.redis import RedisLocker
    except ImportError as exc:
        raise StartupError(
            f"--locker needs redis-py: pip install 'tuskit-server[redis]' ({exc})"
        ) from exc
    locker = RedisLocker(settings.locker)
    try:
        asyncio.run(locker.check())
    except LockUnavailable as exc:
        raise StartupError(f"--locker {settings.locker}: {exc.message}") from exc
    return locker


def setup_tus_options(settings: ServerSettings) -> dict[str, Any]:
    """The :func:`setup_tus` keywords the settings ask for.

    Raises:
        ImportError: metrics are on but prometheus-client is not installed.
    """
    options: dict[str, Any] = {
        "upload_path": settings.storage,
        "upload_url": settings.base_path,
        "max_size": settings.max_size,
        "metadata_limit": settings.metadata_limit,
        "cors": Cors(origins=tuple(settings.cors_origin)),
        "expiration": settings.expiration,
        "checksum_algorithms": tuple(settings.checksum),
        "download": settings.download,
        "behind_proxy": settings.behind_proxy,
        "ietf_draft": settings.ietf_draft,
        "lock_timeout": settings.lock_timeout,
        "idle_timeout": settings.idle_timeout,
        "splice_min": settings.splice_min or None,
        "health": Health(live=settings.healthz_path, ready=settings.readyz_path)
        if settings.health
        else False,
    }
    if settings.extensions is not None:
        options["extensions"] = settings.extensions
    limits = (settings.max_stored, settings.max_in_progress, settings.uploads_per_minute)
    if any(limit is not None for limit in limits):
        options["limits"] = Limits(*limits)
    hooks = external_hooks(settings)
    if hooks is not None:
        options["hooks"] = hooks
    if settings.demo:
        options["demo"] = True
    if settings.metrics:
        from tuskit_server.metrics import Metrics

        options["metrics"] = Metrics(path=settings.metrics_path)
    return options


def external_hooks(settings: ServerSettings) -> Hooks | None:
    """The hooks of ``--hooks-http`` or ``--hooks-dir``, if either is given.

    Raises:
        StartupError: the hook directory is not a directory.
    """
    events = settings.hooks_enabled_events
    if settings.hooks_http is not None:
        return HttpHooks(
            settings.hooks_http,
            timeout=settings.hooks_http_timeout,
            retry=settings.hooks_http_retry,
            backoff=settings.hooks_http_backoff,
            events=events,
        ).hooks()
    if settings.hooks_dir is not None:
        if not settings.hooks_dir.is_dir():
            raise StartupError(f"--hooks-dir: {settings.hooks_dir} is not a directory")
        return FileHooks(
            settings.hooks_dir, timeout=settings.hooks_dir_timeout, events=events
        ).hooks()
    return None


@contextlib.contextmanager
def _shared_metrics(settings: ServerSettings) -> Iterator[None]:
    """With several workers, prometheus-client's multiprocess mode in a directory that lives
    as long as the server: it is chosen when prometheus-client is first imported, so this
    must run before :func:`setup_tus_options`."""
    if not settings.metrics or settings.workers == 1 or MULTIPROCESS_ENV in os.environ:
        yield
        return
    if "prometheus_client" in sys.modules:
        raise StartupError(
            f"metrics of several workers need {MULTIPROCESS_ENV} set before prometheus-client"
            " is imported (or --no-metrics)"
        )
    with tempfile.TemporaryDirectory(prefix="tuskit-metrics-") as directory:
        os.environ[MULTIPROCESS_ENV] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_ENV]


def _log_requests(settings: ServerSettings) -> None:
    """Access lines go to stderr as they are (each one is already complete), written off
    the event loop."""
    if not settings.access_log or access_logger.handlers:
        return
    handler = LineWriter(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_logger.addHandler(handler)
    access_logger.setLevel(logging.INFO)
    access_logger.propagate = False


def run(
    settings: ServerSettings,
    *,
    on_ready: Callable[[str], None],
    on_stopping: Callable[[], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> int:
    """Check, then serve until SIGINT or SIGTERM; returns the exit status.

    ``on_notice`` is told, in one line, what the server left out (metrics on by default
    without prometheus-client installed).

    Raises:
        StartupError: storage, certificate, address or an option the server refused.
    """
    check_storage(settings)
    context = tls_context(settings)
    locker = shared_locker(settings)
    with _shared_metrics(settings):
        return _serve(settings, context, locker, on_ready, on_stopping, on_notice)


def _serve(
    settings: ServerSettings,
    context: ssl.SSLContext | None,
    locker: Locker | None,
    on_ready: Callable[[str], None],
    on_stopping: Callable[[], None] | None,
    on_notice: Callable[[str], None] | None,
) -> int:
    try:
        options = setup_tus_options(settings)
    except ImportError as exc:
        advice = "metrics need prometheus-client: pip install 'tuskit-server[metrics]'"
        if "metrics" in settings.model_fields_set:  # asked for, not just the default
            raise StartupError(f"{advice} ({exc})") from exc
        if on_notice is not None:
            on_notice(f"no metrics: {advice}, or pass --no-metrics")
        options = setup_tus_options(settings.model_copy(update={"metrics": False}))
    if locker is not None:
        options["locker"] = locker
    _log_requests(settings)
    try:
        return serve(
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            shutdown_timeout=settings.shutdown_timeout,
            print_url=False,
            on_ready=on_ready,
            on_stopping=on_stopping,
            ssl_context=context,
            unix_socket=settings.unix_socket,
            access_log=settings.log_format if settings.access_log else None,
            keepalive_timeout=settings.keepalive_timeout,
            header_timeout=settings.header_timeout,
            max_connections=settings.max_connections,
            **options,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and settings.unix_socket is None:
            where = f"{settings.host}:{settings.port}"
            raise StartupError(f"{where} is already in use (--port 0 picks a free port)") from exc
        place = settings.unix_socket or f"{settings.host}:{settings.port}"
        raise StartupError(f"cannot serve on {place}: {exc.strerror or exc}") from exc
    except (ValueError, RuntimeError) as exc:
        raise StartupError(str(exc).splitlines()[0]) from exc
