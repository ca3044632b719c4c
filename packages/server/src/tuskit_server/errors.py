"""Server-side errors beyond the shared tree in :mod:`tuskit_common.errors`. Pure, no I/O.

Handlers, stores, lockers and hooks raise :class:`tuskit_common.ProtocolError` subclasses;
:func:`tuskit_server._responses.error_response` turns them into responses in one place::

    ProtocolError (tuskit_common)
    ├── HookRejected          any status a hook chooses (default 400)
    ├── UploadInterrupted     400  upload_interrupted  (a newer request took the lock)
    ├── UploadExists          409  upload_exists        (a store refused a duplicate id)
    └── FileExists            409  file_exists          (a finished file of that name exists)
    ServiceUnavailable (tuskit_common)
    ├── LockUnavailable       503  lock_unavailable     (the lock service cannot be reached)
    └── LockLost              503  lock_lost            (the lock lapsed while held)
    ServerError (tuskit_common)
    └── HookFailed            500  (a hook raised something else than a ProtocolError)
"""

from tuskit_common import BadRequest, ProtocolError, ServerError, ServiceUnavailable


class HookRejected(ProtocolError):
    """Raised by a hook to refuse a request with ``status`` and a readable ``message``.

    Example: ``raise HookRejected("uploads are closed", status=403)`` in ``pre_create``.
    """

    default_code = "hook_rejected"

    def __init__(self, message: str, *, status: int = 400, code: str | None = None) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"a hook rejection needs a 4xx or 5xx status, got {status}")
        super().__init__(message, code=code)
        self.http_status = status


class UploadInterrupted(BadRequest):
    """400: a newer request for the same upload asked this one to stop (tusd's behaviour)."""

    default_code = "upload_interrupted"


class UploadExists(ProtocolError):
    """409: a store was asked to create an id it already holds."""

    status = 409
    default_code = "upload_exists"


class FileExists(ProtocolError):
    """409: the upload's finished file would replace an existing one (named files, without
    ``allow_overwrite_files``; aiohttp-tus answered 409 too)."""

    status = 409
    default_code = "file_exists"


class LockUnavailable(ServiceUnavailable):
    """503: the lock service (Redis) cannot be reached, so nothing is done unlocked."""

    default_code = "lock_unavailable"


class LockLost(ServiceUnavailable):
    """503: the upload's lock lapsed while this request held it (its lease expired, or the
    lock service went away); what arrived before is kept, nothing after."""

    default_code = "lock_lost"


class HookFailed(ServerError):
    """500: a hook failed; ``hook`` names it (counted in the metrics)."""

    def __init__(self, hook: str) -> None:
        super().__init__(f"the {hook} hook failed")
        self.hook = hook


class TooManyRequests(ProtocolError):
    """429: this client created too many uploads lately; ``Retry-After`` says when to retry."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class InsufficientStorage(ProtocolError):
    """507: the server's storage quota would be exceeded."""

    status = 507
    default_code = "storage_quota"


def status_of(error: ProtocolError) -> int:
    """The HTTP status an error is answered with."""
    if isinstance(error, HookRejected):
        return error.http_status
    return error.status
