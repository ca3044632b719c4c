"""Helpers shared by the tuskit-server tests. Header names are spelled out on purpose: the
tests are an independent check of the wire format against the spec."""

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import BaseTestServer, TestClient
from yarl import URL

TUS = {"Tus-Resumable": "1.0.0"}
OCTET = "application/offset+octet-stream"
Client = TestClient[web.Request, web.Application]
#: The ``make_client`` fixture: ``await make_client(**setup_tus_kwargs)``.
MakeClient = Callable[..., Awaitable[Client]]


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def checksum(data: bytes, algorithm: str = "sha1") -> str:
    return f"{algorithm} {b64(hashlib.new(algorithm, data).digest())}"


def path_of(response: ClientResponse) -> str:
    """The path of a 201's absolute Location."""
    location = response.headers["Location"]
    assert URL(location).is_absolute(), location
    return URL(location).raw_path


async def create(
    client: Client,
    length: int | None = 10,
    *,
    url: str = "/uploads",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> str:
    """POST a new upload (deferred when length is None) and return its path."""
    sent = dict(TUS)
    if length is None:
        sent["Upload-Defer-Length"] = "1"
    else:
        sent["Upload-Length"] = str(length)
    if data is not None:
        sent["Content-Type"] = OCTET
    sent.update(headers or {})
    sent = {k: v for k, v in sent.items() if v}  # an empty value removes a default header
    response = await client.post(url, headers=sent, data=data)
    assert response.status == 201, await response.text()
    return path_of(response)


async def patch(
    client: Client,
    path: str,
    offset: int,
    data: Any,
    **extra: str,
) -> ClientResponse:
    """PATCH ``data`` at ``offset``; extra headers by keyword (underscores become dashes)."""
    sent = {**TUS, "Upload-Offset": str(offset), "Content-Type": OCTET}
    sent.update({k.replace("_", "-"): v for k, v in extra.items()})
    return await client.patch(path, headers=sent, data=data)


async def offset_of(client: Client, path: str) -> int:
    response = await client.head(path, headers=TUS)
    assert response.status == 200, response.status
    return int(response.headers["Upload-Offset"])


async def slow_body(first: bytes, gate: asyncio.Event) -> AsyncIterator[bytes]:
    """``first``, then ``b"never-read"`` once ``gate`` is set."""
    yield first
    await gate.wait()
    yield b"never-read"


async def stale_patch(
    client: Client,
    path: str,
    gate: asyncio.Event,
    is_locked: Callable[[str], bool],
    *,
    offset: int = 0,
    body: AsyncIterator[bytes] | None = None,
    length: int | None = None,
) -> "asyncio.Task[ClientResponse]":
    """Start a PATCH at ``offset`` that sends 10 bytes, then stalls until ``gate`` (or sends
    ``body``, announced as ``length`` bytes if given, else chunked); return once it holds the
    upload's lock (``is_locked``, the locker's view of this process)."""
    sent = {**TUS, "Upload-Offset": str(offset), "Content-Type": OCTET}
    if length is not None:
        sent["Content-Length"] = str(length)
    stale = asyncio.create_task(
        client.patch(
            path, headers=sent, data=body if body is not None else slow_body(b"a" * 10, gate)
        )
    )
    for _ in range(100):
        await asyncio.sleep(0.01)
        if is_locked(path.rsplit("/", 1)[1]):
            break
    await asyncio.sleep(0.1)
    return stale


async def resume_after_interruption(
    stale: "asyncio.Task[ClientResponse]", gate: asyncio.Event, client: Client, path: str
) -> None:
    """The :func:`stale_patch` of a 100-byte upload answered 400 (interrupted), and the
    upload resumes at 10 through ``client`` to its end."""
    response = await stale
    assert response.status == 400
    assert "interrupted" in await response.text()
    gate.set()
    resumed = await patch(client, path, 10, b"b" * 90)
    assert resumed.status == 204
    assert resumed.headers["Upload-Offset"] == "100"


# -- raw HTTP over a socket, for what a client library would not send ---------------------


def raw_head(method: str, path: str, headers: Mapping[str, str]) -> bytes:
    """A request head as bytes."""
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def raw_patch_head(
    path: str, length: int, *, offset: int = 0, extra: Mapping[str, str] | None = None
) -> bytes:
    """The head of a PATCH at ``offset`` announcing ``length`` body bytes."""
    headers = {
        **TUS,
        "Content-Type": OCTET,
        "Upload-Offset": str(offset),
        "Content-Length": str(length),
    }
    return raw_head("PATCH", path, {**headers, **(extra or {})})


async def read_status(reader: asyncio.StreamReader) -> tuple[int, str]:
    """The status code and the text of the next response head."""
    block = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    text = block.decode("latin-1")
    return int(text.split(" ", 2)[1]), text


async def open_raw(server: BaseTestServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A plain connection to ``server``."""
    assert server.port is not None
    return await asyncio.open_connection(server.host, server.port)


async def expect_draft_creation(
    server: BaseTestServer, length: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int, str]:
    """Send the head of a complete draft creation of ``length`` bytes with ``Expect:
    100-continue`` and read the first answer, before any body byte is sent."""
    reader, writer = await open_raw(server)
    headers = {"Upload-Complete": "?1", "Content-Length": str(length), "Expect": "100-continue"}
    writer.write(raw_head("POST", "/uploads", headers))
    status, text = await read_status(reader)
    return reader, writer, status, text
