"""HTTP hooks as tusd sends them (``-hooks-http``): each event is POSTed as JSON to one URL.

The receiver answers 2xx with tusd's hook response (or an empty body); a network error, a
timeout or a 5xx is retried ``retry`` times, ``backoff`` seconds apart, as tusd does; any
other status is a failure. See :mod:`tuskit_server._hook_runner` for what a failure does.
"""

import asyncio
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from tuskit_server._hook_runner import DeliveryError, HookRunner
from tuskit_server.hook_events import DEFAULT_EVENTS
from tuskit_server.hooks import Hooks

__all__ = ["HttpHooks"]


class HttpHooks:
    """POST tusd's hook requests to ``url``; :meth:`hooks` is what ``setup_tus`` takes.

    Example: ``setup_tus(app, ..., hooks=HttpHooks("http://127.0.0.1:8081/hooks").hooks())``.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retry: int = 3,
        backoff: float = 1.0,
        events: Iterable[str] = DEFAULT_EVENTS,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        if timeout <= 0 or retry < 0 or backoff < 0:
            raise ValueError("the hook timeout must be positive, retries and backoff not negative")
        self.url = url
        self.timeout = timeout
        self.retry = retry
        self.backoff = backoff
        self._session: aiohttp.ClientSession | None = None
        self._runner = HookRunner(self._deliver, events=events, on_close=self._close)

    def hooks(self) -> Hooks:
        """The hooks of the enabled events."""
        return self._runner.hooks()

    def _client(self) -> aiohttp.ClientSession:
        """One session per process, made on first use (in the worker's own loop)."""
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def _deliver(self, event: str, body: dict[str, Any]) -> object:
        problem = ""
        for attempt in range(self.retry + 1):
            if attempt:
                await asyncio.sleep(self.backoff)
            try:
                async with self._client().post(self.url, json=body) as response:
                    text = await response.text()
                    if response.status >= 500:
                        problem = f"{self.url} answered {response.status}"
                        continue
                    if response.status >= 300:
                        raise DeliveryError(f"{self.url} answered {response.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{self.url} cannot be reached: {str(exc) or type(exc).__name__}"
                continue
            try:
                return json.loads(text) if text.strip() else None
            except ValueError:
                raise DeliveryError(f"{self.url} answered something else than JSON") from None
        tries = "once" if self.retry == 0 else f"{self.retry + 1} times"
        raise DeliveryError(f"{problem} (tried {tries})")

    async def _close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
