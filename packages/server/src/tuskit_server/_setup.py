"""``setup_tus``: register the tus routes of one upload URL on an aiohttp application.

aiohttp-tus's signature and meaning are kept (an aiohttp-tus user changes one import); the
new options are keyword-only. Configuration lives under the typed :data:`TUS_CONFIG_KEY`
as a mapping keyed by canonical upload URL (aiohttp-tus's key: ``{name:regex}`` fields
without their regex, trailing slash as given), so ``setup_tus`` may be called several times
per app.
The store is opened, the expiry sweeper started and both closed in ``cleanup_ctx``; in-flight
PATCH bodies are stopped in ``on_shutdown`` (aiohttp runs it while connections are still
open, before ``cleanup_ctx`` unwinds), so they persist what arrived and answer 503.
"""

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from tuskit_common import ALGORITHMS, Extension, ServiceUnavailable
from tuskit_server import handlers
from tuskit_server._config import (
    Cors,
    Decorator,
    Expiration,
    FileNames,
    OnUploadDone,
    TusConfig,
    utc_now,
)
from tuskit_server._endpoint import Endpoint
from tuskit_server._expect_continue import make_expect_handler
from tuskit_server._expiry import run_sweeper
from tuskit_server._handler_wrapper import MethodHandler, make_view
from tuskit_server._paths import canonical_url
from tuskit_server._quotas import Limits
from tuskit_server.health import Health, add_health_routes
from tuskit_server.hooks import Hooks
from tuskit_server.locks import Locker
from tuskit_server.stores.base import DataStore

if TYPE_CHECKING:  # prometheus-client is an extra
    from tuskit_server.metrics import Metrics

__all__ = ["ENDPOINTS_KEY", "TUS_CONFIG_KEY", "get_tus", "setup_tus"]

#: Every ``setup_tus`` configuration of an app, keyed by canonical upload URL.
TUS_CONFIG_KEY: Final = web.AppKey("tuskit_server.config", dict[str, TusConfig])
#: The live endpoints (stores, locks) behind those configurations, keyed by canonical
#: upload URL without a trailing slash.
ENDPOINTS_KEY: Final = web.AppKey("tuskit_server.endpoints", dict[str, Endpoint])

#: Seconds ``on_shutdown`` gives interrupted PATCHes to persist and answer.
SHUTDOWN_GRACE = 5.0


def setup_tus(
    app: web.Application,
    *,
    upload_path: str | Path | None = None,
    upload_url: str = "/uploads",
    upload_resource_name: str | None = None,
    allow_overwrite_files: bool = False,
    file_names: FileNames = "name",
    decorator: Decorator | None = None,
    on_upload_done: OnUploadDone | None = None,
    json_dumps: Callable[[Any], str] = json.dumps,
    json_loads: Callable[[str], Any] = json.loads,
    store: DataStore | None = None,
    locker: Locker | None = None,
    max_size: int | None = None,
    hooks: Hooks | None = None,
    cors: Cors | bool | None = True,
    expiration: Expiration | timedelta | None = Expiration(),  # noqa: B008 - frozen value
    checksum_algorithms: Iterable[str] = tuple(ALGORITHMS),
    lock_timeout: float = 20.0,
    download: bool = True,
    metadata_limit: int = 4096,
    behind_proxy: bool = False,
    extensions: Iterable[Extension] | None = None,
    idle_timeout: float = 60.0,
    splice_min: int | None = 1024 * 1024,
    splice_threads: int = 32,
    protect_finished: bool = False,
    clock: Callable[[], datetime] = utc_now,
    id_factory: Callable[[], str] | None = None,
    health: Health | bool = False,
    metrics: "Metrics | None" = None,
    accept_content_encoding: bool = False,
    takeover_after: float = 2.0,
    max_partials: int = 64,
    limits: Limits | None = None,
    ietf_draft: bool = False,
) -> web.Application:
    """Serve tus 1.0.0 uploads under ``upload_url`` and return ``app``.

    Args:
        app: the application (or sub-application) to register routes on.
        upload_path: directory of the default :class:`FileStore`; may contain the
            ``{placeholders}`` of a named ``upload_url`` (aiohttp-tus), formatted from
            ``request.match_info`` per request. Not needed when ``store`` is given.
        upload_url: the creation URL; uploads live at ``<upload_url>/<id>``. A trailing
            slash is accepted on requests either way.
        upload_resource_name: route name of the creation URL (the upload URL route is
            ``<name>_resource``), for ``app.router[name].url_for()``.
        allow_overwrite_files: with named files, let a finished upload replace an existing
            file of its name; False (default): a creation whose name exists answers 409.
        file_names: ``"name"`` (default, aiohttp-tus): a finished upload's bytes move to
            ``<upload directory>/<filename metadata>`` (the upload id without one), the
            store's own files living in its ``.tus`` subdirectory; a ``filename`` that is
            not one plain name answers 400. ``"id"``: tusd's layout, every upload stays
            ``<upload directory>/<id>`` (``tus serve``). Only for the FileStores built from
            ``upload_path``; a given ``store`` keeps its own layout.
        decorator: wraps every tus view except OPTIONS (e.g. authentication); it also runs
            in the ``Expect: 100-continue`` check, before the body is sent.
        on_upload_done: ``async (request, resource, file_path)``, awaited once when an upload
            completes (after the ``post_finish`` hook).
        json_dumps / json_loads: the FileStore's info-file codec.
        store: any :class:`DataStore` (instead of ``upload_path``); extensions follow its
            capabilities.
        locker: per-upload locks (default: :class:`MemoryLocker`, one process).
        max_size: the largest upload in bytes (``Tus-Max-Size``, 413 above it); None: no cap.
        hooks: :class:`Hooks` (pre_create, post_create, post_receive, pre_finish,
            post_finish, pre_terminate, post_terminate).
        cors: :class:`Cors`; True (default) allows any origin, None/False turns CORS off.
        expiration: :class:`Expiration` or an idle timedelta (default 7 days, swept every
            10 minutes); None turns expiration off.
        checksum_algorithms: offered ``Upload-Checksum`` algorithms (default sha1, md5,
            sha256, sha512, crc32); empty turns checksum off. sha1 is required by the spec.
        lock_timeout: seconds a request waits for a busy upload before 423.
        download: serve finished uploads on GET ``<upload_url>/<id>``.
        metadata_limit: the largest ``Upload-Metadata`` in bytes (400 above it).
        behind_proxy: trust ``Forwarded`` / ``X-Forwarded-Host`` / ``-Proto`` for Location.
        extensions: switch extensions off by listing the ones wanted (default: all the
            store can do). ``checksum-trailer`` is never offered (see the README).
        idle_timeout: seconds one body read may stall before the PATCH ends with 500.
        splice_min: a body with at least this many bytes still unread goes from the socket
            into a file store's data file by the kernel (Linux ``splice``, in a worker
            thread), the connection closing after the response; None: always through
            Python. Not used with TLS, a checksum or a transfer or content coding, nor for
            a client that sends slowly (under 64 KiB in its first 0.1 s).
        splice_threads: bodies moved that way at once, each in its own thread for as long
            as it lasts; further ones go through Python.
        protect_finished: refuse (403) to terminate finished uploads.
        clock: time source (tests inject one). id_factory: upload ids (default 128 random
            bits); ids must match ``[A-Za-z0-9_-]{1,128}``.
        health: serve ``GET /healthz`` and ``/readyz`` (True) or as a :class:`Health` says;
            once per app, checking every endpoint. Off by default.
        metrics: count into this :class:`tuskit_server.metrics.Metrics` and serve it at its
            ``path`` (needs ``tuskit-server[metrics]``); one per app. Off by default.
        accept_content_encoding: store PATCH/POST bodies sent with a ``Content-Encoding``
            as aiohttp decodes them (default: 415, a tus body is the upload's raw bytes).
        takeover_after: seconds without a body byte after which a PATCH is stale: only
            then does a newer request for the upload interrupt it (it answers 400).
        max_partials: the most partial uploads one ``Upload-Concat: final`` may list.
        limits: per-server :class:`Limits` on creation (bytes stored, uploads in
            progress, creations per client address per minute); None: no limits.
        ietf_draft: also serve the IETF resumable-upload draft (interop versions 3 to 8,
            see :mod:`tuskit_common.ietf_draft`) on the same URLs; a request is the draft's
            when it names an interop version, or carries ``Upload-Complete`` and no
            ``Tus-Resumable`` (HEAD and DELETE: no ``Tus-Resumable``).

    Returns:
        ``app``, as aiohttp-tus did.

    Raises:
        ValueError: a second setup for the same URL, no upload_path and no store, or an
            invalid option.
    """
    if upload_path is None and store is None:
        raise ValueError("setup_tus needs upload_path or store")
    if file_names not in ("name", "id"):
        raise ValueError(f"file_names must be 'name' or 'id', not {file_names!r}")
    algorithms = tuple(checksum_algorithms)
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown:
        raise ValueError(f"unsupported checksum algorithms: {unknown}")
    if algorithms and "sha1" not in algorithms:
        raise ValueError("the checksum extension requires sha1 (spec §checksum)")
    if max_size is not None and max_size < 0:
        raise ValueError("max_size must be non-negative")
    if splice_min is not None and splice_min < 1:
        raise ValueError("splice_min must be positive (or None)")
    if splice_threads < 1:
        raise ValueError("splice_threads must be positive")
    if isinstance(expiration, timedelta):
        expiration = Expiration(after=expiration)
    if takeover_after < 0 or max_partials < 1:
        raise ValueError("takeover_after must be >= 0 and max_partials >= 1")
    config = TusConfig(
        upload_url=upload_url,
        upload_path=Path(upload_path) if upload_path is not None else None,
        store=store,
        upload_resource_name=upload_resource_name,
        allow_overwrite_files=allow_overwrite_files,
        file_names=file_names,
        decorator=decorator,
        on_upload_done=on_upload_done,
        json_dumps=json_dumps,
        json_loads=json_loads,
        locker=locker,
        max_size=max_size,
        hooks=hooks or Hooks(),
        cors=Cors() if cors is True else (cors or None),
        expiration=expiration,
        checksum_algorithms=algorithms,
        lock_timeout=lock_timeout,
        download=download,
        metadata_limit=metadata_limit,
        behind_proxy=behind_proxy,
        extensions=frozenset(extensions) if extensions is not None else None,
        idle_timeout=idle_timeout,
        splice_min=splice_min,
        splice_threads=splice_threads,
        protect_finished=protect_finished,
        clock=clock,
        id_factory=id_factory,
        metrics=metrics,
        accept_content_encoding=accept_content_encoding,
        takeover_after=takeover_after,
        max_partials=max_partials,
        limits=limits,
        ietf_draft=ietf_draft,
    )
    base = upload_url.rstrip("/")
    key = canonical_url(upload_url)
    configs = app.get(TUS_CONFIG_KEY)
    if configs is None:
        configs = app[TUS_CONFIG_KEY] = {}
        app[ENDPOINTS_KEY] = {}
    if key.rstrip("/") in app[ENDPOINTS_KEY]:
        raise ValueError(f"setup_tus was already called for {upload_url!r}")
    endpoint = Endpoint(config)
    configs[key] = config
    app[ENDPOINTS_KEY][key.rstrip("/")] = endpoint
    _add_routes(app, endpoint, base)
    app.cleanup_ctx.append(_lifecycle(endpoint))
    _add_operator_routes(app, health, metrics, decorator)
    app.on_shutdown.append(_shutdown(endpoint))
    return app


def _add_operator_routes(
    app: web.Application,
    health: Health | bool,
    metrics: "Metrics | None",
    decorator: Decorator | None,
) -> None:
    """The health and metrics endpoints, shared by every ``setup_tus`` of ``app``."""

    def endpoints() -> list[Endpoint]:
        return list(app[ENDPOINTS_KEY].values())

    if health:
        add_health_routes(app, Health() if health is True else health, endpoints, decorator)
    if metrics is None:
        return
    from tuskit_server.metrics import METRICS_KEY

    existing = app.get(METRICS_KEY)
    if existing is metrics:
        return
    if existing is not None:
        raise ValueError("one app counts into one Metrics; pass the same one to every setup_tus")
    app[METRICS_KEY] = metrics
    metrics.count_in_progress(lambda: [r for e in endpoints() for r in e.readers])
    view = metrics.view
    wrapped = decorator(view) if decorator is not None and metrics.decorated else view
    app.router.add_get(metrics.path, wrapped)


def _route_names(config: TusConfig, base: str) -> tuple[str, str]:
    if config.upload_resource_name is not None:
        return config.upload_resource_name, f"{config.upload_resource_name}_resource"
    digest = hashlib.sha1(base.encode(), usedforsecurity=False).hexdigest()[:16]
    return f"tus_upload_{digest}", f"tus_resource_{digest}"


def _add_routes(app: web.Application, endpoint: Endpoint, base: str) -> None:
    """OPTIONS/POST on the collection; OPTIONS/HEAD/PATCH/POST(override)/DELETE/GET on
    ``<base>/{id}``, DELETE and GET only when the store can terminate / serve files."""
    collection_name, resource_name = _route_names(endpoint.config, base)
    collection: dict[str, MethodHandler] = {
        "OPTIONS": handlers.options,
        "POST": handlers.post,
    }
    upload: dict[str, MethodHandler] = {
        "OPTIONS": handlers.options,
        "HEAD": handlers.head,
        "PATCH": handlers.patch,
    }
    if Extension.TERMINATION in endpoint.extensions:
        upload["DELETE"] = handlers.delete
    if endpoint.can_download:
        upload["GET"] = handlers.get
    collection_view = make_view(endpoint, collection, on_upload=False)
    upload_view = make_view(endpoint, upload, on_upload=True)
    post_expect = make_expect_handler(endpoint, on_upload=False)
    upload_expect = make_expect_handler(endpoint, on_upload=True)
    for path, name in ((base or "/", collection_name), (base + "/", None)):
        if path == "/" and name is None:
            continue
        resource = app.router.add_resource(path, name=name)
        for method in collection:
            expect = post_expect if method == "POST" else None
            resource.add_route(method, collection_view, expect_handler=expect)
        resource.add_route("*", collection_view)  # other methods: 405 with tus headers
    resource = app.router.add_resource(base + "/{id}", name=resource_name)
    for method in [*upload, "POST"]:
        expect = upload_expect if method in ("PATCH", "POST") else None
        resource.add_route(method, upload_view, expect_handler=expect)
    resource.add_route("*", upload_view)


def _lifecycle(
    endpoint: Endpoint,
) -> Callable[[web.Application], AsyncIterator[None]]:
    # An async generator, not an async context manager: aiohttp before 3.12 iterates it.
    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        await endpoint.open()
        sweeper = None
        if endpoint.config.expiration is not None and Extension.EXPIRATION in endpoint.extensions:
            sweeper = asyncio.create_task(run_sweeper(endpoint), name="tuskit-expiry-sweeper")
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await endpoint.close()
            if endpoint.config.hooks.aclose is not None:
                await endpoint.config.hooks.aclose()

    return lifecycle


def _shutdown(endpoint: Endpoint) -> Callable[[web.Application], Any]:
    async def on_shutdown(_: web.Application) -> None:
        endpoint.stop_readers(ServiceUnavailable("the server is shutting down"))
        await endpoint.wait_readers(SHUTDOWN_GRACE)

    return on_shutdown


def get_tus(app: web.Application) -> Mapping[str, TusConfig]:
    """The configurations registered by :func:`setup_tus`, keyed by canonical upload URL
    (``{name:regex}`` fields without their regex, trailing slash as given).

    Raises:
        RuntimeError: ``setup_tus`` was never called for ``app``.
    """
    configs = app.get(TUS_CONFIG_KEY)
    if configs is None:
        raise RuntimeError("tus is not set up for this application; call setup_tus(app, ...)")
    return configs
