"""A small in-memory tus server for the client tests, which misbehaves on request.

It is not tuskit_server (the client tests must not depend on it): just enough of tus 1.0.0
to be a credible peer - creation (+ with-upload, defer-length), HEAD, PATCH with checksum,
termination, concatenation, expiration - plus scripted faults: a status with
``Retry-After``, a connection dropped mid-PATCH after N bytes were stored, a PATCH that keeps
only part of its body, and three ``Location`` styles (absolute, path-only, relative).
Header names are spelled out here on purpose, as an independent check of the client.
"""

import asyncio
import base64
import hashlib
import itertools
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aiohttp import web
from yarl import URL

ALL_EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "concatenation",
    "checksum",
    "expiration",
)

_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha1": lambda b: hashlib.sha1(b).digest(),
    "sha256": lambda b: hashlib.sha256(b).digest(),
    "md5": lambda b: hashlib.md5(b).digest(),
    "crc32": lambda b: zlib.crc32(b).to_bytes(4, "big"),
}


@dataclass
class Upload:
    id: str
    length: int | None
    metadata: str | None = None
    concat: str | None = None
    data: bytearray = field(default_factory=bytearray)
    partial: bool = False
    final: bool = False
    expired: bool = False
    expires: datetime | None = None


@dataclass
class Fault:
    """One scripted misbehaviour, used once by the first request that matches ``method``.

    Attributes:
        status: answer with this status (after draining the body), nothing stored.
        retry_after: a ``Retry-After`` value to send with it.
        drop_after: store this many bytes of the PATCH body, then cut the connection.
        keep: answer 204 but store only this many bytes of the body.
        corrupt: flip the first byte before checking the checksum (forces a 460).
        stall_after: store this many bytes of the PATCH body, then stop reading and wait
            until the client gives up (a stalled connection).
    """

    method: str
    status: int | None = None
    retry_after: str | None = None
    drop_after: int | None = None
    keep: int | None = None
    corrupt: bool = False
    stall_after: int | None = None


class FakeTus:
    """The server state and its aiohttp application (mounted at ``/files/``)."""

    def __init__(
        self,
        *,
        extensions: tuple[str, ...] = ALL_EXTENSIONS,
        algorithms: tuple[str, ...] = ("sha1", "sha256", "md5", "crc32"),
        location: str = "absolute",
        max_size: int | None = None,
        conflict_offset: bool = True,
        options_status: int = 200,
    ) -> None:
        self.extensions = extensions
        self.algorithms = algorithms
        self.location = location
        self.max_size = max_size
        self.conflict_offset = conflict_offset
        self.options_status = options_status
        self.uploads: dict[str, Upload] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._ids = itertools.count(1)
        # bodies are read whole (the fake keeps them in memory): allow the large ones
        self.app = web.Application(client_max_size=256 * 1024 * 1024)
        self.app.router.add_route("OPTIONS", "/files/", self.options)
        self.app.router.add_route("OPTIONS", "/files/{id}", self.options)
        self.app.router.add_post("/files/", self.post)
        self.app.router.add_route("HEAD", "/files/{id}", self.head)
        self.app.router.add_patch("/files/{id}", self.patch)
        self.app.router.add_delete("/files/{id}", self.delete)
        self.app.router.add_post("/files/{id}", self.override)

    # -- helpers for tests ----------------------------------------------------------------

    def inject(self, method: str, count: int = 1, **kwargs: object) -> None:
        for _ in range(count):
            self.faults.append(Fault(method, **kwargs))  # type: ignore[arg-type]

    def only(self) -> Upload:
        (upload,) = [u for u in self.uploads.values() if not u.partial]
        return upload

    def methods(self) -> list[str]:
        return [method for method, _, _ in self.requests]

    # -- plumbing -------------------------------------------------------------------------

    def _fault(self, method: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.method == method:
                return self.faults.pop(index)
        return None

    def _headers(self, upload: Upload | None = None) -> dict[str, str]:
        result = {"Tus-Resumable": "1.0.0"}
        if upload is not None and upload.expires is not None:
            result["Upload-Expires"] = format_datetime(upload.expires, usegmt=True)
        return result

    def _answer(self, status: int, upload: Upload | None = None, /, **extra: str) -> web.Response:
        return web.Response(status=status, headers={**self._headers(upload), **extra})

    def _find(self, request: web.Request) -> Upload | web.Response:
        upload = self.uploads.get(request.match_info["id"])
        if upload is None:
            return self._answer(404)
        if upload.expired:
            return self._answer(410)
        return upload

    def _record(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path, dict(request.headers)))

    def _location(self, request: web.Request, upload_id: str) -> str:
        if self.location == "path":
            return f"/files/{upload_id}"
        if self.location == "relative":
            return upload_id
        return str(request.url.with_path(f"/files/{upload_id}").with_query(None))

    async def _drain(self, request: web.Request) -> None:
        async for _ in request.content.iter_chunked(65536):
            pass

    async def _faulted(self, request: web.Request) -> web.Response | None:
        fault = self._fault(request.method)
        if fault is None or fault.status is None:
            if fault is not None:
                self.faults.insert(0, fault)  # a body fault: the PATCH handler takes it
            return None
        await self._drain(request)
        extra = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
        return self._answer(fault.status, **extra)

    def _check_sum(self, request: web.Request, body: bytes) -> web.Response | None:
        header = request.headers.get("Upload-Checksum")
        if header is None:
            return None
        name, _, encoded = header.partition(" ")
        if name not in self.algorithms:
            return self._answer(400)
        if _HASHES[name](body) != base64.b64decode(encoded):
            return self._answer(460)
        return None

    # -- handlers -------------------------------------------------------------------------

    async def options(self, request: web.Request) -> web.Response:
        self._record(request)
        if (faulted := await self._faulted(request)) is not None:
            return faulted
        if self.options_status != 200:
            return web.Response(status=self.options_status)
        headers = {"Tus-Version": "1.0.0", "Tus-Extension": ",".join(self.extensions)}
        if self.max_size is not None:
            headers["Tus-Max-Size"] = str(self.max_size)
        if "checksum" in self.extensions:
            headers["Tus-Checksum-Algorithm"] = ",".join(self.algorithms)
        return web.Response(status=200, headers=headers)

    async def post(self, request: web.Request) -> web.Response:
        self._record(request)
        if (faulted := await self._faulted(request)) is not None:
            return faulted
        if request.headers.get("Tus-Resumable") != "1.0.0":
            return self._answer(412, **{"Tus-Version": "1.0.0"})
        upload_id = f"u{next(self._ids)}"
        concat = request.headers.get("Upload-Concat")
        upload = Upload(upload_id, None, request.headers.get("Upload-Metadata"), concat)
        if concat is not None and concat.startswith("final;"):
            if "Upload-Length" in request.headers:
                return self._answer(400)
            data = bytearray()
            for ref in concat[len("final;") :].split():
                part_id = request.url.join(URL(ref)).path.rsplit("/", 1)[-1]
                part = self.uploads.get(part_id)
                if part is None or not part.partial or len(part.data) != part.length:
                    return self._answer(400)
                data += part.data
            upload.final, upload.data, upload.length = True, data, len(data)
        else:
            upload.partial = concat == "partial"
            if "Upload-Length" in request.headers:
                upload.length = int(request.headers["Upload-Length"])
            elif request.headers.get("Upload-Defer-Length") != "1":
                return self._answer(400)
            if self.max_size is not None and (upload.length or 0) > self.max_size:
                return self._answer(413)
        if "expiration" in self.extensions and not upload.final:
            upload.expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        extra: dict[str, str] = {}
        if request.headers.get("Content-Type") == "application/offset+octet-stream":
            body = await request.read()
            if (bad := self._check_sum(request, body)) is not None:
                return bad
            if upload.length is not None and len(body) > upload.length:
                return self._answer(413)
            upload.data += body
            extra["Upload-Offset"] = str(len(upload.data))
        self.uploads[upload_id] = upload
        extra["Location"] = self._location(request, upload_id)
        return self._answer(201, upload, **extra)

    async def head(self, request: web.Request) -> web.Response:
        self._record(request)
        if (faulted := await self._faulted(request)) is not None:
            return faulted
        upload = self._find(request)
        if isinstance(upload, web.Response):
            return upload
        extra = {"Upload-Offset": str(len(upload.data)), "Cache-Control": "no-store"}
        if upload.length is None:
            extra["Upload-Defer-Length"] = "1"
        else:
            extra["Upload-Length"] = str(upload.length)
        if upload.metadata is not None:
            extra["Upload-Metadata"] = upload.metadata
        if upload.concat is not None:
            extra["Upload-Concat"] = upload.concat
        return self._answer(200, upload, **extra)

    async def patch(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if (faulted := await self._faulted(request)) is not None:
            return faulted
        upload = self._find(request)
        if isinstance(upload, web.Response):
            await self._drain(request)
            return upload
        if request.headers.get("Content-Type") != "application/offset+octet-stream":
            await self._drain(request)
            return self._answer(415)
        if upload.final:
            await self._drain(request)
            return self._answer(403)
        offset = int(request.headers["Upload-Offset"])
        if offset != len(upload.data):
            await self._drain(request)
            extra = {"Upload-Offset": str(len(upload.data))} if self.conflict_offset else {}
            return self._answer(409, **extra)
        if "Upload-Length" in request.headers:
            declared = int(request.headers["Upload-Length"])
            if upload.length is not None and upload.length != declared:
                await self._drain(request)
                return self._answer(400)
            upload.length = declared
        fault = self._fault("PATCH")
        if fault is not None and fault.stall_after is not None:
            received = bytearray()
            async for piece in request.content.iter_chunked(4096):
                received += piece
                if len(received) >= fault.stall_after:
                    break
            upload.data += received[: fault.stall_after]
            # until the client closes the connection; a paused transport never sees that,
            # so give up after a while (the client's stall timeout is far shorter)
            transport = request.transport
            deadline = asyncio.get_running_loop().time() + 3
            while (  # noqa: ASYNC110 - polls the peer
                transport is not None
                and not transport.is_closing()
                and asyncio.get_running_loop().time() < deadline
            ):
                await asyncio.sleep(0.02)
            return self._answer(500)
        if fault is not None and fault.drop_after is not None:
            received = bytearray()
            async for piece in request.content.iter_chunked(4096):
                received += piece
                if len(received) >= fault.drop_after:
                    break
            upload.data += received[: fault.drop_after]
            assert request.transport is not None
            request.transport.close()
            return self._answer(500)
        body = bytearray(await request.read())
        if fault is not None and fault.corrupt and body:
            body[0] ^= 0xFF
        if (bad := self._check_sum(request, bytes(body))) is not None:
            return bad
        if fault is not None and fault.keep is not None:
            body = body[: fault.keep]
        if upload.length is not None and len(upload.data) + len(body) > upload.length:
            return self._answer(413)
        upload.data += body
        if "expiration" in self.extensions:
            upload.expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        return self._answer(204, upload, **{"Upload-Offset": str(len(upload.data))})

    async def override(self, request: web.Request) -> web.StreamResponse:
        """POST + X-HTTP-Method-Override on an upload URL (spec §1.1)."""
        method = request.headers.get("X-HTTP-Method-Override")
        if method == "PATCH":
            return await self.patch(request)
        if method == "DELETE":
            return await self.delete(request)
        return self._answer(405)

    async def delete(self, request: web.Request) -> web.Response:
        self._record(request)
        if (faulted := await self._faulted(request)) is not None:
            return faulted
        upload = self._find(request)
        if isinstance(upload, web.Response):
            return upload
        del self.uploads[upload.id]
        return self._answer(204)


#: The ``tus_server`` fixture: start a fake server, get it and its creation URL.
ServerFactory = Callable[..., Awaitable[tuple[FakeTus, URL]]]


class Sleeps(list[float]):
    """Records the delays the client asked for instead of waiting (the ``sleeps`` fixture)."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
