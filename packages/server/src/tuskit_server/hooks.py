"""Typed async hooks in tusd's lifecycle (digest §Hooks, tusd ``docs/hooks``).

Every hook is ``async (request, resource) -> ...``:

- ``pre_create`` runs before anything is stored. It may raise :class:`HookRejected` (the
  answer is its status, default 400) or return :class:`CreateChanges` to replace the id or
  the metadata.
- ``post_create``, ``post_receive`` (after each stored chunk, for progress), ``pre_finish``
  (after the last byte is stored, before the answer), ``post_finish`` (once per upload;
  aiohttp-tus's ``on_upload_done`` is called right after it) and ``post_terminate``.
- ``pre_terminate`` may veto a DELETE by returning False (403) or raising HookRejected.
- ``aclose`` (not a hook) is awaited when the app is cleaned up, so that hooks still running
  in the background (:class:`~tuskit_server.HttpHooks`, :class:`~tuskit_server.FileHooks`)
  can finish.

A hook that raises anything else becomes a 500 with one readable line; pre-hooks run before
any change, post-hooks after the change is persisted, so no upload is ever left half-written.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from aiohttp import web

from tuskit_common import ProtocolError, Resource
from tuskit_server.errors import HookFailed, HookRejected
from tuskit_server.log import logger

__all__ = ["CreateChanges", "HookRejected", "Hooks", "call_hook"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CreateChanges:
    """What ``pre_create`` may change: a new id (validated like any id) and/or metadata."""

    id: str | None = None
    metadata: Mapping[str, bytes | None] | None = None


ResourceHook: TypeAlias = Callable[[web.Request, Resource], Awaitable[None]]
PreCreateHook: TypeAlias = Callable[[web.Request, Resource], Awaitable[CreateChanges | None]]
PreTerminateHook: TypeAlias = Callable[[web.Request, Resource], Awaitable[bool | None]]


@dataclass(frozen=True, slots=True)
class Hooks:
    """The hooks of one ``setup_tus``; each is optional."""

    pre_create: PreCreateHook | None = None
    post_create: ResourceHook | None = None
    post_receive: ResourceHook | None = None
    pre_finish: ResourceHook | None = None
    post_finish: ResourceHook | None = None
    pre_terminate: PreTerminateHook | None = None
    post_terminate: ResourceHook | None = None
    aclose: Callable[[], Awaitable[None]] | None = None


async def call_hook(
    name: str,
    hook: Callable[[web.Request, Resource], Awaitable[T]] | None,
    request: web.Request,
    resource: Resource,
) -> T | None:
    """Await ``hook`` if set; protocol errors pass through, anything else becomes a 500."""
    if hook is None:
        return None
    try:
        return await hook(request, resource)
    except ProtocolError:
        raise
    except Exception as exc:
        logger.exception("hook %s failed for upload %s", name, resource.id)
        raise HookFailed(name) from exc
