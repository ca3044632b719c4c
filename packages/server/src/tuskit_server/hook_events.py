"""tusd's hook request and response, as JSON (tusd ``docs/_advanced-topics/hooks.md``,
``pkg/hooks``), so receivers written for tusd keep working with tuskit. Pure, no I/O.

A hook request is ``{"Type": "pre-create", "Event": {"Upload": {...}, "HTTPRequest":
{...}}}``; a hook response may reject the request (``RejectUpload`` / ``RejectTermination``
with ``HTTPResponse.StatusCode`` and ``Body``) or change a new upload's id and metadata
(``ChangeFileInfo``). :func:`outcome` turns a response into what a Python hook returns.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from tuskit_common import Resource
from tuskit_server.errors import HookRejected
from tuskit_server.hooks import CreateChanges

__all__ = [
    "DEFAULT_EVENTS",
    "EVENTS",
    "PRE_EVENTS",
    "HookResponse",
    "check_events",
    "hook_request",
    "outcome",
    "parse_response",
]

#: tusd's event names, in lifecycle order, with the :class:`Hooks` field of each.
EVENTS: Final = {
    "pre-create": "pre_create",
    "post-create": "post_create",
    "post-receive": "post_receive",
    "pre-finish": "pre_finish",
    "post-finish": "post_finish",
    "pre-terminate": "pre_terminate",
    "post-terminate": "post_terminate",
}
#: The events whose answer decides the request (the others run in the background).
PRE_EVENTS: Final = frozenset({"pre-create", "pre-finish", "pre-terminate"})
#: Enabled unless chosen otherwise: all but post-receive, which fires for every chunk
#: (tusd leaves it off by default too).
DEFAULT_EVENTS: Final = tuple(name for name in EVENTS if name != "post-receive")


def check_events(events: Iterable[str]) -> tuple[str, ...]:
    """The events, each one of tusd's names.

    Raises:
        ValueError: an unknown name, naming the known ones.
    """
    chosen = tuple(events)
    for name in chosen:
        if name not in EVENTS:
            raise ValueError(f"{name!r} is not a hook event (one of {', '.join(EVENTS)})")
    return chosen


def _canonical(name: str) -> str:
    """A header name as Go canonicalises it (``x-request-id`` -> ``X-Request-Id``), the
    spelling tusd's receivers read."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _http_request(request: web.Request) -> dict[str, Any]:
    header: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        header.setdefault(_canonical(name), []).append(value)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    remote = ""
    if isinstance(peer, tuple) and len(peer) >= 2:
        remote = f"[{peer[0]}]:{peer[1]}" if ":" in str(peer[0]) else f"{peer[0]}:{peer[1]}"
    return {
        "Method": request.method,
        "URI": request.path_qs,
        "RemoteAddr": remote,
        "Header": header,
    }


def hook_request(event: str, request: web.Request, resource: Resource) -> dict[str, Any]:
    """The JSON body tusd sends for ``event``; in pre-create the id is empty and there is
    no storage yet, as in tusd."""
    creating = event == "pre-create"
    metadata = {
        key: "" if value is None else value.decode("utf-8", "replace")
        for key, value in resource.metadata.items()
    }
    upload = {
        "ID": "" if creating else resource.id,
        "Size": resource.length,
        "SizeIsDeferred": resource.length is None,
        "Offset": resource.offset,
        "MetaData": metadata,
        "IsPartial": resource.is_partial,
        "IsFinal": resource.is_final,
        "PartialUploads": list(resource.partial_ids) or None,
        "Storage": None if creating else (dict(resource.storage) or None),
    }
    return {"Type": event, "Event": {"Upload": upload, "HTTPRequest": _http_request(request)}}


@dataclass(frozen=True, slots=True)
class HookResponse:
    """The parts of tusd's hook response that tuskit acts on."""

    status: int | None = None
    body: str = ""
    reject_upload: bool = False
    reject_termination: bool = False
    new_id: str | None = None
    new_metadata: dict[str, str] | None = None


def _object(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is not a JSON object")
    return value


def _strings(value: Mapping[str, Any], where: str) -> dict[str, str]:
    if not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{where} values must be strings")
    return {str(k): v for k, v in value.items()}


def parse_response(data: object) -> HookResponse:
    """Read a decoded hook response (``None`` or ``{}``: nothing to do).

    Raises:
        ValueError: not tusd's shape; the message says which field.
    """
    body = _object(data, "the hook response")
    http = _object(body.get("HTTPResponse"), "HTTPResponse")
    change = _object(body.get("ChangeFileInfo"), "ChangeFileInfo")
    status = http.get("StatusCode")
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
        raise ValueError("HTTPResponse.StatusCode is not a number")
    text = http.get("Body", "")
    if not isinstance(text, str):
        raise ValueError("HTTPResponse.Body is not a string")
    new_id = change.get("ID") or None
    if new_id is not None and not isinstance(new_id, str):
        raise ValueError("ChangeFileInfo.ID is not a string")
    metadata = change.get("MetaData")
    return HookResponse(
        status=status or None,
        body=text,
        reject_upload=body.get("RejectUpload") is True,
        reject_termination=body.get("RejectTermination") is True,
        new_id=new_id,
        new_metadata=None
        if metadata is None
        else _strings(_object(metadata, "ChangeFileInfo.MetaData"), "ChangeFileInfo.MetaData"),
    )


def _rejection(response: HookResponse, default: str) -> HookRejected:
    """The client's answer: the receiver's status (400 unless a 4xx/5xx) and its body as
    one line."""
    status = response.status if response.status and 400 <= response.status <= 599 else 400
    message = " ".join(response.body.split()) or default
    return HookRejected(message, status=status)


def outcome(event: str, response: HookResponse) -> CreateChanges | bool | None:
    """What the Python hook of ``event`` returns for ``response``.

    Raises:
        HookRejected: pre-create or pre-finish with ``RejectUpload``, pre-terminate with
            ``RejectTermination`` (tusd's fields; other events ignore them).
    """
    if event in ("pre-create", "pre-finish") and response.reject_upload:
        verb = "creation" if event == "pre-create" else "completion"
        raise _rejection(response, f"upload {verb} has been rejected by the server")
    if event == "pre-terminate" and response.reject_termination:
        raise _rejection(response, "upload termination has been rejected by the server")
    if event == "pre-create" and (response.new_id or response.new_metadata is not None):
        metadata = response.new_metadata
        return CreateChanges(
            id=response.new_id,
            metadata=None if metadata is None else {k: v.encode() for k, v in metadata.items()},
        )
    return None
