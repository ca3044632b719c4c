"""One upload, start to finish: the capability checks, creation (with the first chunk when
creation-with-upload is offered), and continuing an upload that already exists."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from yarl import URL

from tuskit_client._engine import Engine, Progress, Span
from tuskit_client._results import UploadResult
from tuskit_client._resume import StoredUpload
from tuskit_client._retry import is_retryable
from tuskit_client._sources import Source
from tuskit_client.exceptions import CapabilityError, ProtocolError, ResponseError
from tuskit_client.log import logger
from tuskit_common import Extension, ServerCapabilities, headers

#: With a resume store, the POST carries at most this much: its URL is saved only once the
#: POST is answered, so bytes sent inside an interrupted POST could not be resumed. Small
#: uploads still finish in one request; large ones lose at most this much to a crash.
RESUMABLE_CREATION_BODY = 256 * 1024


def check_capabilities(
    caps: ServerCapabilities | None, source: Source, checksum: str | None
) -> None:
    """Fail fast, before any data, on what the server announced it cannot do."""
    if checksum is not None and (caps is None or checksum not in caps.checksum_algorithms):
        offered = ", ".join(caps.checksum_algorithms) if caps else "nothing"
        raise CapabilityError(f"the server does not offer checksum {checksum!r} ({offered})")
    if caps is None:
        if source.size is None:
            # Sending Upload-Defer-Length blindly loses data on a server without the
            # extension (aiohttp-tus takes the length as 0 and never finishes the upload).
            raise CapabilityError(
                "a source of unknown size needs creation-defer-length, and the server's "
                "OPTIONS answer does not say it offers it"
            )
        return
    if caps.versions and headers.PROTOCOL_VERSION not in caps.versions:
        raise CapabilityError(f"the server speaks tus {', '.join(caps.versions)}, not 1.0.0")
    if caps.max_size is not None and source.size is not None and source.size > caps.max_size:
        raise CapabilityError(
            f"the upload is {source.size} bytes, the server takes at most {caps.max_size}"
        )
    if source.size is None and not caps.supports(Extension.CREATION_DEFER_LENGTH):
        raise CapabilityError(
            "a source of unknown size needs creation-defer-length, which the server lacks"
        )


async def create_and_send(
    engine: Engine,
    endpoint: URL,
    source: Source,
    caps: ServerCapabilities | None,
    metadata_header: str | None,
    checksum: str | None,
    progress: Progress,
    save: Callable[[StoredUpload], Awaitable[None]] | None,
) -> UploadResult:
    length = source.size
    first: bytes | None = None
    if (
        caps is not None
        and caps.supports(Extension.CREATION_WITH_UPLOAD)
        and engine.chunk_size is not None
        and length != 0
    ):
        wanted = engine.chunk_size if length is None else min(engine.chunk_size, length)
        if save is not None:
            wanted = min(wanted, RESUMABLE_CREATION_BODY)
        first, at_end = await source.read(0, wanted)
        if length is None and at_end:
            length = len(first)
    created = await engine.create(
        endpoint,
        length=length,
        metadata_header=metadata_header,
        body=first,
        checksum=checksum,
        progress=progress,
    )
    if save is not None:
        await save(
            StoredUpload(str(created.location), source.size, (), datetime.now(UTC).isoformat())
        )
    offset = created.offset
    expires = created.expires
    if offset is None and first is not None:
        status = await engine.status(created.location)
        offset, expires = status.offset, status.expires or expires
    offset, final_length, expires = await engine.transfer(
        created.location,
        source,
        Span(),
        offset=offset or 0,
        length=length,
        checksum=checksum,
        progress=progress,
        expires=expires,
    )
    return UploadResult(created.location, offset, final_length, expires)


async def continue_upload(
    engine: Engine, url: URL, source: Source, checksum: str | None, progress: Progress
) -> UploadResult | None:
    """HEAD an existing upload and finish it; None when it has to start afresh (404/410 or
    another 4xx, a past ``Upload-Expires``, a length that differs from the source's)."""
    try:
        status = await engine.status(url)
    except ResponseError as exc:
        if 400 <= exc.status < 500 and not is_retryable(exc):
            logger.info("upload %s cannot be resumed (%s); starting afresh", url, exc.status)
            return None
        raise
    except ProtocolError as exc:
        # e.g. a final upload still being concatenated has no Upload-Offset yet
        logger.info("upload %s cannot be resumed (%s); starting afresh", url, exc.message)
        return None
    if status.expires is not None and status.expires <= engine.now():
        logger.info("upload %s expired at %s; starting afresh", url, status.expires)
        return None
    if source.size is not None and status.length is not None and status.length != source.size:
        logger.info(
            "upload %s has length %s, not %s; starting afresh", url, status.length, source.size
        )
        return None
    if (status.concat_header or "").startswith("final") and not status.is_complete:
        return None
    logger.info("resuming upload %s at offset %d", url, status.offset)
    offset, length, expires = await engine.transfer(
        url,
        source,
        Span(),
        offset=status.offset,
        length=status.length,
        checksum=checksum,
        progress=progress,
        expires=status.expires,
    )
    return UploadResult(url, offset, length, expires, resumed=True)
