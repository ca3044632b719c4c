"""Turn a transport that delivers tusd's hook requests (HTTP, executables) into
:class:`Hooks`: pre-hooks wait for the answer, post-hooks run in the background.

A pre-hook whose delivery fails answers 500 (:class:`HookFailed`, counted in the metrics)
after one log line; a post-hook never delays the request: it is delivered by a task, and a
failure is logged in one line and counted. ``Hooks.aclose`` lets those tasks finish.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from tuskit_common import Resource
from tuskit_server._setup import ENDPOINTS_KEY
from tuskit_server.errors import HookFailed
from tuskit_server.hook_events import (
    DEFAULT_EVENTS,
    EVENTS,
    PRE_EVENTS,
    check_events,
    hook_request,
    outcome,
    parse_response,
)
from tuskit_server.hooks import CreateChanges, Hooks
from tuskit_server.log import logger

__all__ = ["DeliveryError", "HookRunner"]

#: Deliver one hook request (the event name and its JSON body); returns the decoded answer.
Deliver = Callable[[str, dict[str, Any]], Awaitable[object]]


class DeliveryError(Exception):
    """A receiver or script did not answer as it should; the message is one line."""


def _metrics_of(request: web.Request) -> Any:
    """The app's :class:`Metrics`, if any (found through its endpoints, so that this
    module works without prometheus-client)."""
    endpoints = request.config_dict.get(ENDPOINTS_KEY) or {}
    return next((e.metrics for e in endpoints.values() if e.metrics is not None), None)


class HookRunner:
    """The :class:`Hooks` of one transport; ``deliver`` raises :class:`DeliveryError` or
    ``ValueError`` (a bad answer) when a hook fails."""

    def __init__(
        self,
        deliver: Deliver,
        *,
        events: Iterable[str] = DEFAULT_EVENTS,
        drain_timeout: float = 10.0,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._deliver = deliver
        self.events = check_events(events)
        self._drain_timeout = drain_timeout
        self._on_close = on_close
        self._tasks: set[asyncio.Task[None]] = set()

    def hooks(self) -> Hooks:
        """One hook per enabled event, plus ``aclose``."""
        chosen: dict[str, Any] = {}
        for event in self.events:
            chosen[EVENTS[event]] = self._pre(event) if event in PRE_EVENTS else self._post(event)
        return Hooks(**chosen, aclose=self.aclose)

    async def _ask(self, event: str, request: web.Request, resource: Resource) -> object:
        """A pre-hook's decision; a failed delivery is a 500 with one log line."""
        try:
            response = parse_response(
                await self._deliver(event, hook_request(event, request, resource))
            )
        except (DeliveryError, ValueError) as exc:
            upload = "a new upload" if event == "pre-create" else f"upload {resource.id}"
            logger.warning("%s hook failed for %s: %s", event, upload, exc)
            raise HookFailed(EVENTS[event]) from None
        return outcome(event, response)

    def _pre(self, event: str) -> Callable[[web.Request, Resource], Awaitable[Any]]:
        async def pre_hook(request: web.Request, resource: Resource) -> CreateChanges | None:
            result = await self._ask(event, request, resource)
            return result if isinstance(result, CreateChanges) else None

        return pre_hook

    def _post(self, event: str) -> Callable[[web.Request, Resource], Awaitable[None]]:
        async def post_hook(request: web.Request, resource: Resource) -> None:
            body = hook_request(event, request, resource)
            task = asyncio.create_task(
                self._in_background(event, body, resource.id, _metrics_of(request)),
                name=f"tuskit-hook-{event}",
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return post_hook

    async def _in_background(
        self, event: str, body: dict[str, Any], upload: str, metrics: Any
    ) -> None:
        try:
            parse_response(await self._deliver(event, body))
        except (DeliveryError, ValueError) as exc:
            logger.warning("%s hook failed for upload %s: %s", event, upload, exc)
            failed = HookFailed(EVENTS[event])
            if metrics is not None:
                metrics.hook_errors.labels(failed.hook).inc()

    async def aclose(self) -> None:
        """Let background hooks finish (for ``drain_timeout`` seconds), then release the
        transport; hooks still running are cancelled and said so."""
        if self._tasks:
            pending = set(self._tasks)
            _, left = await asyncio.wait(pending, timeout=self._drain_timeout)
            for task in left:
                task.cancel()
            for task in left:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if left:
                logger.warning("%d background hooks were cancelled at shutdown", len(left))
        if self._on_close is not None:
            await self._on_close()
