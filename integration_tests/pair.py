"""The client's sans-IO flow joined to the server's sans-IO rules in memory (h11's
``ConnectionPair``): no sockets, no event loop, a dict as the store.

:class:`RulesServer` answers request heads the way ``tuskit_server._rules`` says, with just
enough bookkeeping around them (ids, bytes, concatenation); :class:`Pair` carries out a
client flow's commands against it and records what went over the "wire". Faults are
scripted per request: a connection cut after some bytes, or a body corrupted in transit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from tuskit_client import TransportError
from tuskit_client import _commands as commands
from tuskit_client._steps import RequestHead, ResponseHead
from tuskit_common import Extension, Resource, errors, headers, messages, new_hasher
from tuskit_common.values import format_uint
from tuskit_server import _concat_rules, _rules

T = TypeVar("T")

ENDPOINT = URL("http://pair.test/files/")
ALGORITHMS = ("sha1", "sha256")


@dataclass
class Stored:
    resource: Resource
    data: bytearray = field(default_factory=bytearray)


class RulesServer:
    """A tus server made of ``_rules`` calls over a dict of uploads."""

    def __init__(
        self,
        extensions: tuple[Extension, ...],
        *,
        now: datetime,
        max_size: int | None = None,
    ) -> None:
        self.extensions = frozenset(extensions) | {Extension.CREATION}
        self.max_size = max_size
        self.now = now
        self.uploads: dict[str, Stored] = {}
        self._ids = (f"u{n}" for n in itertools.count(1))

    def handle(self, head: RequestHead, body: bytes) -> ResponseHead:
        """One request, whole; a protocol error becomes its status, as the server maps it."""
        request_headers = CIMultiDictProxy(CIMultiDict(head.headers))
        on_upload = head.url.path != ENDPOINT.path
        try:
            method = _rules.effective_method(
                head.method,
                request_headers.get(headers.X_HTTP_METHOD_OVERRIDE),
                on_upload=on_upload,
            )
            if method == "OPTIONS":
                answer = self._options()
                return self._head(204, head.url, answer)
            _rules.check_version(request_headers.get(headers.TUS_RESUMABLE))
            if method == "POST":
                status, answer = 201, self._post(head.url, request_headers, body)
            elif method == "HEAD":
                status, answer = 200, self._status(head.url)
            elif method == "PATCH":
                status, answer = 204, self._patch(head.url, request_headers, body)
            else:
                status, answer = 204, self._delete(head.url)
        except errors.ProtocolError as error:
            return self._head(error.status, head.url, {}, error.message)
        return self._head(status, head.url, answer)

    def _head(
        self, status: int, url: URL, answer: Mapping[str, str], body: str = ""
    ) -> ResponseHead:
        fixed = CIMultiDict({headers.TUS_RESUMABLE: headers.PROTOCOL_VERSION, **answer})
        return messages.ResponseHead(status, CIMultiDictProxy(fixed), url, "", body)

    def _options(self) -> dict[str, str]:
        return _rules.options_headers(
            extensions=self.extensions, max_size=self.max_size, algorithms=ALGORITHMS
        )

    def _find(self, url: URL) -> Stored:
        stored = self.uploads.get(_rules.check_id(url.name))
        if stored is None:
            raise errors.NotFound("no such upload")
        if _rules.is_expired(stored.resource, self.now):
            raise errors.Gone("the upload expired")
        return stored

    def _post(self, url: URL, request: Mapping[str, str], body: bytes) -> dict[str, str]:
        plan = _rules.plan_creation(
            request, extensions=self.extensions, max_size=self.max_size, metadata_limit=4096
        )
        has_body = bool(body) and _rules.is_tus_body(request.get(headers.CONTENT_TYPE))
        if has_body:
            if Extension.CREATION_WITH_UPLOAD not in self.extensions:
                raise errors.ExtensionUnavailable("creation-with-upload is not supported")
            _rules.check_creation_body(plan, len(body))
        length, partials = plan.length, []
        if plan.concat is not None and plan.concat.is_final:
            ids = [
                _concat_rules.partial_id(u, request_url=str(url), collection_path=url.path)
                for u in plan.concat.urls
            ]
            partials = [self.uploads[upload_id] for upload_id in ids]
            _concat_rules.check_partials([p.resource for p in partials], allow_unfinished=False)
            length = _concat_rules.final_length([p.resource for p in partials])
        expires = None
        if Extension.EXPIRATION in self.extensions and not partials:
            expires = self.now + timedelta(hours=1)
        data = bytearray(b"".join(p.data for p in partials))
        resource = Resource(
            id=next(self._ids),
            length=length,
            offset=len(data),
            metadata_header=plan.metadata_header,
            concat_header=plan.concat_header,
            is_partial=plan.concat is not None and plan.concat.is_partial,
            is_final=bool(partials),
            partial_ids=tuple(p.resource.id for p in partials),
            created_at=self.now,
            expires_at=expires,
        )
        stored = self.uploads[resource.id] = Stored(resource, data)
        answer = {headers.LOCATION: str(url.join(URL(resource.id)))}
        if has_body:
            self._append(stored, request, body, offset=0)
            answer[headers.UPLOAD_OFFSET] = format_uint(stored.resource.offset)
        answer.update(_rules.expires_headers(stored.resource, now=self.now))
        return answer

    def _status(self, url: URL) -> dict[str, str]:
        return _rules.head_headers(self._find(url).resource, now=self.now)

    def _patch(self, url: URL, request: Mapping[str, str], body: bytes) -> dict[str, str]:
        _rules.check_media_type(request.get(headers.CONTENT_TYPE))
        stored = self._find(url)
        plan = _rules.plan_append(
            stored.resource,
            offset_header=request.get(headers.UPLOAD_OFFSET),
            length_header=request.get(headers.UPLOAD_LENGTH),
            content_length=_rules.parse_content_length(request.get(headers.CONTENT_LENGTH)),
            max_size=self.max_size,
        )
        if plan.declare_length is not None:
            stored.resource = stored.resource.model_copy(update={"length": plan.declare_length})
        self._append(stored, request, body, offset=plan.offset)
        answer = {headers.UPLOAD_OFFSET: format_uint(stored.resource.offset)}
        answer.update(_rules.expires_headers(stored.resource, now=self.now))
        return answer

    def _append(self, stored: Stored, request: Mapping[str, str], body: bytes, offset: int) -> None:
        """Store ``body`` at ``offset`` once its checksum (if any) matches (spec §checksum)."""
        checksum = _rules.parse_checksum_header(request.get(headers.UPLOAD_CHECKSUM), ALGORITHMS)
        if checksum is not None:
            hasher = new_hasher(checksum.algorithm)
            hasher.update(body)
            if hasher.digest() != checksum.digest:
                raise errors.ChecksumMismatch("the body does not match Upload-Checksum")
        del stored.data[offset:]
        stored.data += body
        stored.resource = stored.resource.model_copy(update={"offset": len(stored.data)})

    def receive_cut(self, head: RequestHead, body: bytes) -> None:
        """A PATCH whose connection broke after ``body``: the server keeps what arrived."""
        request_headers = CIMultiDictProxy(CIMultiDict(head.headers))
        stored = self._find(head.url)
        offset = _rules.parse_offset_header(request_headers.get(headers.UPLOAD_OFFSET))
        if offset == stored.resource.offset:
            self._append(stored, {}, body, offset)

    def _delete(self, url: URL) -> dict[str, str]:
        if Extension.TERMINATION not in self.extensions:
            raise errors.ExtensionUnavailable("termination is not supported")
        del self.uploads[self._find(url).resource.id]
        return {}


@dataclass
class Fault:
    """What happens to the next request of ``method``: cut after ``cut`` bytes of its body,
    or its body's first byte flipped in transit (``corrupt``)."""

    method: str
    cut: int | None = None
    corrupt: bool = False


class Pair:
    """Carries out a client flow's commands against a :class:`RulesServer`."""

    def __init__(self, server: RulesServer, source: bytes = b"") -> None:
        self.server = server
        self.source = source
        self.faults: list[Fault] = []
        self.wire: list[tuple[str, str | None, int]] = []  # method, Upload-Offset, body size
        self.sleeps: list[float] = []
        self.remembered: list[URL] = []
        self.forgotten = 0

    def run(self, flow: commands.Flow[T]) -> T:
        turns = commands.Turns(flow)
        for command in turns:
            turns.settle(partial(self._carry_out, command))
        return turns.result

    def _carry_out(self, command: commands.Command) -> commands.Answer:
        if isinstance(command, commands.Send):
            return self._send(command)
        if isinstance(command, commands.Read):
            end = command.position + command.size
            return self.source[command.position : end], end >= len(self.source)
        if isinstance(command, commands.Sleep):
            self.sleeps.append(command.seconds)
        elif isinstance(command, commands.Remember):
            self.remembered.append(command.location)
        elif isinstance(command, commands.Forget):
            self.forgotten += 1
        elif isinstance(command, commands.Split):
            raise AssertionError("the pair runs parts one by one through UploadFlow.part")
        return None

    def _send(self, command: commands.Send) -> ResponseHead:
        body = b""
        if isinstance(command.body, commands.Memory):
            body = command.body.data
        elif command.body is not None:
            body = self.source[command.body.start : command.body.end]
        if command.body is not None and command.body.progress is not None:
            command.body.progress.sent(command.body.part, command.body.offset + len(body))
        head = command.head
        self.wire.append((head.method, head.headers.get(headers.UPLOAD_OFFSET), len(body)))
        fault = next((f for f in self.faults if f.method == head.method), None)
        if fault is not None:
            self.faults.remove(fault)
            if fault.cut is not None:
                self.server.receive_cut(head, body[: fault.cut])
                raise TransportError(f"{head.method} {head.url} failed: connection reset")
            if fault.corrupt and body:
                body = bytes([body[0] ^ 0xFF]) + body[1:]
        return self.server.handle(head, body)


def at(now: datetime) -> dict[str, Any]:
    """The clock settings both sides are handed (the flow also takes the jitter source)."""
    return {"now": lambda: now, "random": lambda: 0.5}


NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
