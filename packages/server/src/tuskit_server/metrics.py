"""Prometheus metrics of the tus endpoints (``pip install tuskit-server[metrics]``).

Names follow tusd's (``tusd_requests_total`` -> ``tuskit_requests_total`` and so on), plus
what tusd lacks: expired uploads, uploads in progress, lock waits and timeouts. Counting
costs a few dictionary look-ups per request and nothing per chunk: bytes are added once
per PATCH, gauges are read only when scraped.
"""

from collections.abc import Callable, Iterable
from typing import Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest

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
            "tuskit_uploads_in_progress", "PATCH bodies being received now.", registry=r
        )
        self.connections = Gauge(
            "tuskit_connections_open", "Open client connections (when known).", registry=r
        )

    def observe(self, method: str, status: int) -> None:
        """Count one answered tus request."""
        self.requests.labels(method, status).inc()
        if status == 423:
            self.lock_timeouts.inc()

    def count_in_progress(self, readers: Callable[[], Iterable[object]]) -> None:
        """Read the uploads in progress from ``readers()`` (the bodies being read) at scrape
        time."""
        self.in_progress.set_function(lambda: float(sum(1 for _ in readers())))

    def watch_connections(self, server: web.Server) -> None:
        """Report ``server``'s open connections (``AppRunner.server``; ``serve()`` does it)."""
        self.connections.set_function(lambda: float(len(server.connections)))

    async def view(self, _: web.Request) -> web.StreamResponse:
        """The metrics in the Prometheus text format."""
        body = generate_latest(self.registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


#: The :class:`Metrics` an application counts into (set by ``setup_tus(metrics=...)``).
METRICS_KEY: Final = web.AppKey("tuskit_server.metrics", Metrics)
