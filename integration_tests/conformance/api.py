"""The raw-HTTP client and the case registry of the conformance table.

:class:`Api` speaks plain HTTP with aiohttp (no tuskit-client) and returns raw replies; each
case of the table is a coroutine taking one and registered under its name with :func:`case`.
Header names are spelled out on purpose: they are the independent check.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDictProxy

V = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
#: The ``Tus-Max-Size`` every server under the table is started with.
MAX_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class Api:
    """Plain HTTP against one server; every helper returns the raw reply."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: str) -> None:
        self.session = session
        self.endpoint = endpoint

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        *,
        skip: tuple[str, ...] = ("Content-Type",),
    ) -> Reply:
        async with self.session.request(
            method, url, headers=dict(headers or {}), data=body, skip_auto_headers=skip
        ) as response:
            return Reply(response.status, response.headers, await response.read())

    async def create(self, length: int | None = 10, **headers: str) -> str:
        sent = {**V, **headers}
        if length is not None:
            sent["Upload-Length"] = str(length)
        reply = await self.request("POST", self.endpoint, sent)
        assert reply.status == 201, reply
        return reply.headers["Location"]

    async def head(self, url: str) -> Reply:
        return await self.request("HEAD", url, V)

    async def patch(self, url: str, offset: int, body: bytes, **headers: str) -> Reply:
        sent = {**V, "Upload-Offset": str(offset), "Content-Type": OCTETS, **headers}
        return await self.request("PATCH", url, sent, body)

    async def offset(self, url: str) -> int:
        reply = await self.head(url)
        assert reply.status in (200, 204), reply
        return int(reply.headers["Upload-Offset"])


Case = Callable[[Api], Awaitable[None]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    """Register the decorated coroutine in :data:`CASES` under ``name`` (names are unique)."""

    def register(function: Case) -> Case:
        assert name not in CASES
        CASES[name] = function
        return function

    return register


def b64(value: bytes) -> str:
    """Standard padded Base64, as tus metadata and checksums carry it."""
    return base64.b64encode(value).decode()
