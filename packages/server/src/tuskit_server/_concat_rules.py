"""The concatenation rules as pure functions: which partial uploads a final may name (§3.8).

Sans-IO like :mod:`tuskit_server._rules` (style §2): Upload-Concat URLs are mapped to ids
without fetching anything, and the stored partials are checked as handed in.
"""

from collections.abc import Collection
from urllib.parse import unquote, urljoin, urlsplit

from tuskit_common import BadRequest, Resource
from tuskit_server._rules import ID_PATTERN

__all__ = ["check_partials", "final_length", "partial_id"]


def partial_id(url: str, *, request_url: str, collection_path: str) -> str:
    """Map one ``Upload-Concat: final`` URL to a partial upload id, never fetching it.

    The URL is resolved against the request URL (RFC 3986), its path must sit directly under
    this endpoint's path, and the last segment must be a valid id (security §7).

    Raises:
        BadRequest: the URL is outside this endpoint or its id is malformed (400, names it).
    """
    path = urlsplit(urljoin(request_url, url)).path
    prefix = collection_path.rstrip("/") + "/"
    rest = path[len(prefix) :] if path.startswith(prefix) else ""
    candidate = unquote(rest.rstrip("/")) if rest.count("/") <= 1 else ""
    if not ID_PATTERN.fullmatch(candidate):
        raise BadRequest(
            f"Upload-Concat URL {url!r} is not an upload of this endpoint",
            code="invalid_concat_url",
        )
    return candidate


def check_partials(partials: Collection[Resource], *, allow_unfinished: bool) -> None:
    """Every listed upload must be a partial, finished unless unfinished is offered (§3.8).

    Raises:
        BadRequest: a listed upload is not partial, or not finished (400, names it).
    """
    for partial in partials:
        if not partial.is_partial:
            raise BadRequest(
                f"upload {partial.id} was not created as a partial upload",
                code="not_partial",
            )
        if not allow_unfinished and not partial.is_complete:
            raise BadRequest(f"partial upload {partial.id} is not finished", code="unfinished")


def final_length(partials: Collection[Resource]) -> int | None:
    """The sum of the partials' lengths, or None while one is still deferred."""
    total = 0
    for partial in partials:
        if partial.length is None:
            return None
        total += partial.length
    return total
