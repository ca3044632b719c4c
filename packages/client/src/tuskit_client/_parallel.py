"""Concatenation: one file split into N partial uploads, or several files joined.

Each part is an ``Upload-Concat: partial`` upload with its own length and no metadata; the
final POST lists the absolute part URLs in order and carries the metadata (spec §3.8).
Every part URL is saved under the source's fingerprint as soon as it exists, so an
interrupted parallel upload resumes part by part.
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from yarl import URL

from tuskit_client._commands import Remember
from tuskit_client._engine import Engine
from tuskit_client._progress import Progress, Span
from tuskit_client._results import UploadResult
from tuskit_client._resume import StoredUpload, URLStore, fingerprint
from tuskit_client._sources import Source
from tuskit_client._steps import final_concat, split_ranges
from tuskit_client.log import logger

SaveParts = Callable[[StoredUpload], Awaitable[None]]


async def _first_error(tasks: Sequence[Callable[[], Coroutine[Any, Any, None]]]) -> None:
    """Run all, cancel the rest on the first failure and raise that failure itself."""
    try:
        async with asyncio.TaskGroup() as group:
            for task in tasks:
                group.create_task(task())
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None


async def _part(
    engine: Engine,
    endpoint: URL,
    source: Source,
    *,
    index: int,
    start: int,
    length: int,
    known: URL | None,
    checksum: str | None,
    progress: Progress,
    created: Callable[[int, URL], Awaitable[None]],
    metadata_header: str | None = None,
) -> None:
    """Upload one part as the flow decides (continue it or create it), storing a new one."""

    async def remember(command: Remember) -> None:
        await created(index, command.location)

    flow = engine.flow.part(
        endpoint,
        known,
        Span(start, index),
        length=length,
        checksum=checksum,
        progress=progress,
        metadata_header=metadata_header,
    )
    await engine.run(flow, source, remember=remember)


async def upload_split(
    engine: Engine,
    endpoint: URL,
    source: Source,
    *,
    parts: int,
    boundaries: Sequence[tuple[int, int]] | None = None,
    metadata_header: str | None,
    checksum: str | None,
    progress: Progress,
    stored: StoredUpload | None,
    save: SaveParts | None,
    part_metadata_header: str | None = None,
) -> UploadResult:
    """Split a seekable source of known size into ``parts`` partial uploads (or along the
    caller's ``boundaries``, tus-js-client ``parallelUploadBoundaries``) and join them.

    Stored parts are reused by position when their length still matches the range.
    """
    size = source.size
    if size is None or not source.seekable:
        raise ValueError("a split upload needs a seekable source of known size")
    if boundaries is None:
        ranges = split_ranges(size, parts)
    else:
        ranges = list(boundaries)
        ends = [start for start, _ in ranges[1:]] + [size]
        if (
            not ranges
            or ranges[0][0] != 0
            or any(
                start >= end or end != following
                for (start, end), following in zip(ranges, ends, strict=True)
            )
        ):
            raise ValueError(f"boundaries must split [0, {size}) into contiguous non-empty ranges")
    urls: list[URL | None] = [None] * len(ranges)
    if stored is not None and stored.size == size and len(stored.parts) == len(ranges):
        urls = [None if u is None else URL(u) for u in stored.parts]
    resumed = any(u is not None for u in urls)
    created_at = stored.created_at if stored else datetime.now(UTC).isoformat()
    lock = asyncio.Lock()

    async def persist(url: URL | None = None) -> None:
        if save is not None:
            async with lock:
                entry = StoredUpload(
                    None if url is None else str(url),
                    size,
                    tuple(None if u is None else str(u) for u in urls),
                    created_at,
                )
                await save(entry)

    async def created(index: int, url: URL) -> None:
        urls[index] = url
        await persist()

    def job(index: int, start: int, end: int) -> Callable[[], Coroutine[Any, Any, None]]:
        return lambda: _part(
            engine,
            endpoint,
            source,
            index=index,
            start=start,
            length=end - start,
            known=urls[index],
            checksum=checksum,
            progress=progress,
            created=created,
            metadata_header=part_metadata_header,
        )

    await _first_error([job(i, s, e) for i, (s, e) in enumerate(ranges)])
    done = [u for u in urls if u is not None]
    final = await engine.create(
        endpoint, length=None, metadata_header=metadata_header, concat=final_concat(done)
    )
    await persist(final.location)
    logger.info("concatenated %d parts into %s", len(done), final.location)
    return UploadResult(final.location, size, size, final.expires, tuple(done), resumed)


async def upload_joined(
    engine: Engine,
    endpoint: URL,
    sources: Sequence[Source],
    *,
    metadata_header: str | None,
    parallel_uploads: int,
    progress: Progress,
    known: Sequence[URL | None] | None = None,
    on_created: Callable[[int, URL], Awaitable[None]] | None = None,
) -> UploadResult:
    """Upload several sources as partial uploads, ``parallel_uploads`` at a time, then join
    them in order into one final upload (aiotus ``upload_multiple``).

    ``known`` holds part URLs from an earlier run to continue; ``on_created`` is told about
    each new part, so the caller can store it (aiotus cannot resume these parts).
    """
    semaphore = asyncio.Semaphore(parallel_uploads)
    urls: list[URL | None] = list(known) if known is not None else [None] * len(sources)
    resumed = any(u is not None for u in urls)

    async def created(index: int, url: URL) -> None:
        urls[index] = url
        if on_created is not None:
            await on_created(index, url)

    def job(index: int, source: Source) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            async with semaphore:
                await _part(
                    engine,
                    endpoint,
                    source,
                    index=index,
                    start=0,
                    length=source.size or 0,
                    known=urls[index],
                    checksum=None,
                    progress=progress,
                    created=created,
                )

        return run

    await _first_error([job(i, s) for i, s in enumerate(sources)])
    done = [u for u in urls if u is not None]
    final = await engine.create(
        endpoint, length=None, metadata_header=metadata_header, concat=final_concat(done)
    )
    total = sum(s.size or 0 for s in sources)
    return UploadResult(final.location, total, total, final.expires, tuple(done), resumed)


async def part_store(
    store: URLStore | None, sources: Sequence[Source], endpoint: URL
) -> tuple[list[URL | None], Callable[[int, URL], Awaitable[None]]]:
    """For :func:`upload_joined`: the part URLs stored for these sources by an earlier run,
    and a callback that stores each new part under its source's fingerprint."""
    keys: list[str | None] = [None] * len(sources)
    known: list[URL | None] = [None] * len(sources)
    if store is not None:
        for index, source in enumerate(sources):
            key = keys[index] = await fingerprint(source, f"{endpoint} partial")
            entry = await store.load(key) if key else None
            if entry is not None and entry.url is not None and entry.size == source.size:
                known[index] = URL(entry.url)

    async def created(index: int, url: URL) -> None:
        key = keys[index]
        if store is not None and key is not None:
            entry = StoredUpload(str(url), sources[index].size, (), datetime.now(UTC).isoformat())
            await store.save(key, entry)

    return known, created
