"""Prometheus metrics of the tus endpoints (``pip install tuskit-server[metrics]``).

Names follow tusd's (``tusd_requests_total`` -> ``tuskit_requests_total`` and so on), plus
what tusd lacks: expired uploads, uploads in progress, lock waits and timeouts. Counting
costs a few dictionary look-ups per request and nothing per chunk: bytes are added once
per PATCH, gauges are read only when scraped.

Several processes (``serve(workers=N)``) count together when prometheus-client runs in its
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set before it is imported; ``tus serve
--workers N`` does that): any worker then answers a scrape with the sum of all, and each
process refreshes its gauges once per request instead of at scrape time.
"""

import asyncio
from collections.abc import Callable, Iterable
from typing import Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, values
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["METRICS_KEY", "Metrics"]


class Metrics:
    """The counters of one application, served at ``path``.

    Args:
        path: where ``GET`` returns them in the Prometheus text format.
        registry: the collector registry (default: a new one; pass
            ``prometheus_client.REGISTRY`` to share the process-wide one).
        decorated: serve them behind ``setup_tus``'s ``decorator``.
    """

    def __init__(
        self,
        *,
        path: str = "/metrics",
        registry: CollectorRegistry | None = None,
        decorated: bool = False,
    ) -> None:
        self.path = path
        self.decorated = decorated
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tuskit_requests", "tus requests answered, by method and status.",
            ["method", "status"], registry=r,
        )  # fmt: skip
        self.bytes_received = Counter(
            "tuskit_bytes_received", "Upload bytes stored from request bodies.", registry=r
        )
        self.created = Counter("tuskit_uploads_created", "Uploads created.", registry=r)
        self.finished = Counter("tuskit_uploads_finished", "Uploads completed.", registry=r)
        self.terminated = Counter(
            "tuskit_uploads_terminated", "Uploads terminated by DELETE.", registry=r
        )
        self.expired = Counter("tuskit_uploads_expired", "Unfinished uploads expired.", registry=r)
        self.lock_waits = Counter(
            "tuskit_lock_waits", "Requests that found their upload locked.", registry=r
        )
        self.lock_timeouts = Counter(
            "tuskit_lock_timeouts", "Requests answered 423: the upload stayed locked.", registry=r
        )
        self.hook_errors = Counter(
            "tuskit_hook_errors", "Hooks that failed, by hook.", ["hooktype"], registry=r
        )
        self.in_progress = Gauge(
            "tuskit_uploads_in_progress", "PATCH bodies being received now.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.connections = Gauge(
            "tuskit_connections_open", "Open client connections (when known).",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        #: counting in files shared by the processes of one server
        self.shared = values.ValueClass is not values.MutexValue
        self._gauges: list[tuple[Gauge, Callable[[], float]]] = []

    def observe(self, method: str, status: int) -> None:
        """Count one answered tus request."""
        self.requests.labels(method, status).inc()
        if status == 423:
            self.lock_timeouts.inc()
        if self.shared:
            self._refresh()

    def _follow(self, gauge: Gauge, read: Callable[[], float]) -> None:
        """Let ``gauge`` show ``read()``: read at scrape time, or (shared) after each
        request."""
        if self.shared:
            self._gauges.append((gauge, read))
        else:
            gauge.set_function(read)

    def _refresh(self) -> None:
        for gauge, read in self._gauges:
            gauge.set(read())

    def count_in_progress(self, readers: Callable[[], Iterable[object]]) -> None:
        """Read the uploads in progress from ``readers()`` (the bodies being read)."""
        self._follow(self.in_progress, lambda: float(sum(1 for _ in readers())))

    def watch_connections(self, server: web.Server) -> None:
        """Report ``server``'s open connections (``AppRunner.server``; ``serve()`` does it)."""
        self._follow(self.connections, lambda: float(len(server.connections)))

    async def view(self, _: web.Request) -> web.StreamResponse:
        """The metrics in the Prometheus text format (of every process, when shared)."""
        if self.shared:  # reads every process's files: off the loop
            self._refresh()
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            body = await asyncio.to_thread(generate_latest, registry)
        else:
            body = generate_latest(self.registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


#: The :class:`Metrics` an application counts into (set by ``setup_tus(metrics=...)``).
METRICS_KEY: Final = web.AppKey("tuskit_server.metrics", Metrics)
