"""What one upload is asked to do, and the checks made before any data goes. No I/O.

A driver turns the caller's arguments (and what its resume store holds) into an
:class:`UploadPlan`; the flow (``_flow``) makes every decision from it.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from yarl import URL

from tuskit_client._progress import Progress
from tuskit_client.exceptions import CapabilityError
from tuskit_common import ALGORITHMS, Extension, ServerCapabilities, headers

if TYPE_CHECKING:  # _resume does file I/O; only the entry's type is needed here
    from tuskit_client._resume import StoredUpload

#: With a resume store, the POST carries at most this much: its URL is saved only once the
#: POST is answered, so bytes sent inside an interrupted POST could not be resumed. Small
#: uploads still finish in one request; large ones lose at most this much to a crash.
RESUMABLE_CREATION_BODY: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class UploadPlan:
    """One upload, as the flow needs to know it.

    Attributes:
        endpoint: the creation URL, or None when only ``url`` may be continued.
        url: an upload the caller named to continue (its failure falls back to a new one).
        stored_url: the upload a resume store holds for this source.
        stored_parts: the store holds the partial uploads of a parallel upload.
        size / seekable: what the source says about itself (size None: deferred length).
        metadata_header: the encoded ``Upload-Metadata``, or None.
        checksum: the algorithm for ``Upload-Checksum`` on every request with data.
        split: the caller asked for parallel parts (or the store holds some); the driver
            runs them when the server and the source allow it.
        resumable: a resume store remembers the new upload's URL.
        remove_on_success: drop the stored entry once the upload is complete.
        progress: where progress goes.
    """

    endpoint: URL | None
    size: int | None
    progress: Progress
    seekable: bool = True
    url: URL | None = None
    stored_url: URL | None = None
    stored_parts: bool = False
    metadata_header: str | None = None
    checksum: str | None = None
    split: bool = False
    resumable: bool = False
    remove_on_success: bool = False


def plan_upload(
    endpoint: URL | None,
    *,
    size: int | None,
    seekable: bool,
    progress: Progress,
    url: URL | None,
    stored: "StoredUpload | None",
    resumable: bool,
    metadata_header: str | None,
    checksum: str | None,
    parallel: int = 1,
    remove_on_success: bool = False,
    concurrent: bool = True,
) -> UploadPlan:
    """The plan for one upload from the caller's arguments and the store's entry; a driver
    that cannot run parts side by side (``concurrent`` False) gets a single upload."""
    parts = stored is not None and bool(stored.parts)
    return UploadPlan(
        endpoint,
        size,
        progress,
        seekable=seekable,
        url=url,
        stored_url=None if stored is None or stored.url is None else URL(stored.url),
        stored_parts=parts,
        metadata_header=metadata_header,
        checksum=checksum,
        split=concurrent and (parallel > 1 or parts),
        resumable=resumable,
        remove_on_success=remove_on_success,
    )


def choose_endpoint(given: str | URL | None, default: URL | None) -> URL:
    """The endpoint a call names, else the client's; one of them is needed."""
    if given is not None:
        return URL(given)
    if default is None:
        raise ValueError("no endpoint: pass one to Client() or to this call")
    return default


def check_arguments(*, checksum: str | None, chunk_size: int | None, has_endpoint: bool) -> None:
    """Refuse, before any I/O, what cannot work whatever the server says."""
    if checksum is not None:
        if checksum not in ALGORITHMS:
            raise ValueError(f"unknown checksum algorithm {checksum!r}")
        if chunk_size is None:
            raise ValueError("checksums need a chunk size: one digest per request")
    if not has_endpoint:
        raise ValueError("no endpoint: pass one to Client() or to this call")


def check_capabilities(
    caps: ServerCapabilities | None, size: int | None, checksum: str | None
) -> None:
    """Fail fast, before any data, on what the server announced it cannot do."""
    if checksum is not None and (caps is None or checksum not in caps.checksum_algorithms):
        offered = ", ".join(caps.checksum_algorithms) if caps else "nothing"
        raise CapabilityError(f"the server does not offer checksum {checksum!r} ({offered})")
    if caps is None:
        if size is None:
            # Sending Upload-Defer-Length blindly loses data on a server without the
            # extension (aiohttp-tus takes the length as 0 and never finishes the upload).
            raise CapabilityError(
                "a source of unknown size needs creation-defer-length, and the server's "
                "OPTIONS answer does not say it offers it"
            )
        return
    if caps.versions and headers.PROTOCOL_VERSION not in caps.versions:
        raise CapabilityError(f"the server speaks tus {', '.join(caps.versions)}, not 1.0.0")
    if caps.max_size is not None and size is not None and size > caps.max_size:
        raise CapabilityError(
            f"the upload is {size} bytes, the server takes at most {caps.max_size}"
        )
    if size is None and not caps.supports(Extension.CREATION_DEFER_LENGTH):
        raise CapabilityError(
            "a source of unknown size needs creation-defer-length, which the server lacks"
        )
