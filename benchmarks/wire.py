"""A tiny HTTP/1.1 client on asyncio streams for the load generators (no tus logic).

The load generators must cost the server under test as little as possible and the same for
every server, so they speak HTTP/1.1 directly over keep-alive connections instead of going
through a full client library: write a request head (and body), read a response head and
its body (``Content-Length`` or chunked).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from tuskit_common import headers as h

__all__ = ["Connection", "Response", "creation_headers", "split_url"]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def split_url(url: str) -> tuple[str, int, str]:
    """Host, port and path of an ``http://`` URL."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"


def creation_headers(length: int, filename: str) -> dict[str, str]:
    """POST headers for a new upload; filename and filetype because two peers need them."""
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in (("filename", filename), ("filetype", "application/octet-stream"))
    )
    return {
        h.TUS_RESUMABLE: h.PROTOCOL_VERSION,
        h.UPLOAD_LENGTH: str(length),
        h.UPLOAD_METADATA: metadata,
    }


class Connection:
    """One keep-alive connection to ``url``'s host; reconnects after ``Connection: close``."""

    def __init__(self, url: str) -> None:
        self.host, self.port, _ = split_url(url)
        self.base = url
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    def absolute(self, location: str) -> str:
        return urljoin(self.base, location)

    async def send_head(
        self, method: str, url: str, fields: Mapping[str, str], length: int
    ) -> asyncio.StreamWriter:
        """Write a request head announcing ``length`` body bytes; the body is the caller's."""
        _, writer = await self._open()
        path = urlsplit(self.absolute(url)).path
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in fields.items()]
        lines.append(f"Content-Length: {length}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return writer

    async def request(
        self, method: str, url: str, fields: Mapping[str, str], body: bytes = b""
    ) -> Response:
        writer = await self.send_head(method, url, fields, len(body))
        if body:
            writer.write(body)
        await writer.drain()
        return await self.read_response()

    async def read_response(self) -> Response:
        reader, _writer = await self._open()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *rest = head.decode("latin-1").split("\r\n")
        fields: dict[str, str] = {}
        for line in rest:
            if ":" in line:
                name, value = line.split(":", 1)
                fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = await reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return Response(int(status_line.split()[1]), fields, body)

    def write(self, data: bytes) -> bool:
        """Queue body bytes on the open connection; False when it is closed."""
        if self._writer is None or self._writer.is_closing():
            return False
        self._writer.write(data)
        return True

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None
