"""Resume across runs: the source fingerprint and the URL stores.

A fingerprint is ``size + sha256 of the first 64 KiB + absolute path (or a caller key) +
endpoint`` (``tus-protocol.md`` §5). Streams have no fingerprint unless the caller gives a
key. Stores implement :class:`URLStore`, and :class:`SyncURLStore` for the blocking client;
:class:`MemoryStore` lives for one process and :class:`JSONFileStore` is one JSON file shared
safely by several processes (an ``fcntl`` lock around read-modify-write, then an atomic
``os.replace``). The async client runs file I/O in worker threads.
"""

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from tuskit_client._sources import Source
from tuskit_client.log import logger

#: How much of the source's start goes into the fingerprint (tuspy uses the same).
FINGERPRINT_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class StoredUpload:
    """What is remembered about one upload, saved right after its creation.

    Attributes:
        url: the upload URL (for a parallel upload: the final one, once created).
        size: the source size, or None for a deferred length.
        parts: for a parallel upload, the partial URLs in order (None: not created yet).
        created_at: ISO timestamp of the creation, for housekeeping.
    """

    url: str | None
    size: int | None
    parts: tuple[str | None, ...] = ()
    created_at: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["parts"] = list(self.parts)
        return data

    @classmethod
    def from_json(cls, data: Any) -> "StoredUpload | None":
        """Parse a stored entry; anything malformed is treated as absent."""
        if not isinstance(data, dict):
            return None
        url, size, parts = data.get("url"), data.get("size"), data.get("parts", [])
        if not (url is None or isinstance(url, str)):
            return None
        if not (size is None or (isinstance(size, int) and size >= 0)):
            return None
        if not isinstance(parts, list) or not all(p is None or isinstance(p, str) for p in parts):
            return None
        created = data.get("created_at", "")
        return cls(url, size, tuple(parts), created if isinstance(created, str) else "")


@runtime_checkable
class URLStore(Protocol):
    """Where upload URLs are kept between runs, keyed by fingerprint."""

    async def load(self, fingerprint: str) -> StoredUpload | None: ...

    async def save(self, fingerprint: str, upload: StoredUpload) -> None: ...

    async def remove(self, fingerprint: str) -> None: ...


@runtime_checkable
class SyncURLStore(Protocol):
    """A store the blocking client (:mod:`tuskit_client.sync`) can use: the same three
    operations, blocking. :class:`MemoryStore` and :class:`JSONFileStore` are both."""

    def load_sync(self, fingerprint: str) -> StoredUpload | None: ...

    def save_sync(self, fingerprint: str, upload: StoredUpload) -> None: ...

    def remove_sync(self, fingerprint: str) -> None: ...


@dataclass
class MemoryStore:
    """A store for the lifetime of one process (tests, long-running services)."""

    entries: dict[str, StoredUpload] = field(default_factory=dict)

    def load_sync(self, fingerprint: str) -> StoredUpload | None:
        return self.entries.get(fingerprint)

    def save_sync(self, fingerprint: str, upload: StoredUpload) -> None:
        self.entries[fingerprint] = upload

    def remove_sync(self, fingerprint: str) -> None:
        self.entries.pop(fingerprint, None)

    async def load(self, fingerprint: str) -> StoredUpload | None:
        return self.load_sync(fingerprint)

    async def save(self, fingerprint: str, upload: StoredUpload) -> None:
        self.save_sync(fingerprint, upload)

    async def remove(self, fingerprint: str) -> None:
        self.remove_sync(fingerprint)


class JSONFileStore:
    """One JSON object ``{fingerprint: entry}`` in a file, safe for concurrent processes.

    Every change takes an exclusive ``fcntl.flock`` on ``<path>.lock``, re-reads the file,
    changes one key and writes a temporary file that replaces the old one atomically, so
    readers never see half a file and no writer loses another's entry. POSIX only.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            logger.warning("URL store %s is not valid JSON; starting it afresh", self.path)
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def load_sync(self, fingerprint: str) -> StoredUpload | None:
        with self._locked():
            return StoredUpload.from_json(self._read().get(fingerprint))

    def save_sync(self, fingerprint: str, upload: StoredUpload) -> None:
        with self._locked():
            data = self._read()
            data[fingerprint] = upload.to_json()
            self._write(data)

    def remove_sync(self, fingerprint: str) -> None:
        with self._locked():
            data = self._read()
            if data.pop(fingerprint, None) is not None:
                self._write(data)

    async def load(self, fingerprint: str) -> StoredUpload | None:
        return await asyncio.to_thread(self.load_sync, fingerprint)

    async def save(self, fingerprint: str, upload: StoredUpload) -> None:
        await asyncio.to_thread(self.save_sync, fingerprint, upload)

    async def remove(self, fingerprint: str) -> None:
        await asyncio.to_thread(self.remove_sync, fingerprint)


def fingerprint_of(
    endpoint: str,
    *,
    key: str | None,
    path: Path | None,
    size: int | None,
    head: bytes | None,
) -> str | None:
    """The store key for a source uploaded to ``endpoint``, or None when it has none.

    ``head`` is the first :data:`FINGERPRINT_BYTES` of a seekable source of known size, None
    for a stream, which has only the caller's key to go by.
    """
    parts = [f"endpoint={endpoint}"]
    if key is not None:
        parts.append(f"key={key}")
    elif path is not None:
        parts.append(f"path={path}")
    if head is not None:
        parts.append(f"size={size}")
        parts.append(f"sha256={hashlib.sha256(head).hexdigest()}")
    elif key is None:
        return None
    elif size is not None:
        parts.append(f"size={size}")
    return "tuskit-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


async def fingerprint(source: Source, endpoint: str, *, key: str | None = None) -> str | None:
    """The store key for ``source`` uploaded to ``endpoint`` (:func:`fingerprint_of`)."""
    head = None
    if source.seekable and source.size is not None:
        head, _ = await source.read(0, min(FINGERPRINT_BYTES, source.size))
    return fingerprint_of(endpoint, key=key, path=source.path, size=source.size, head=head)
