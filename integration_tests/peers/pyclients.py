"""Run one upload with a Python peer client (tuspy or aiotus) from a JSON job; print the result.

    python -m integration_tests.peers.pyclients tuspy JOB.json
    python -m integration_tests.peers.pyclients aiotus JOB.json

Job keys (``endpoint`` and ``file`` or ``files`` are required):

- ``metadata``: ``{key: str | null}``; ``null`` is a key-only pair (aiotus sends it as such;
  tuspy has no key-only pairs and gets ``""``, which it sends as ``key `` with an empty value).
- ``chunk_size``: bytes per PATCH (tuspy ``chunk_size``, aiotus ``chunksize``).
- tuspy only: ``checksum`` (``upload_checksum=True``: a sha1 ``Upload-Checksum`` per PATCH);
  ``abort_after_bytes`` with ``url_storage``: upload up to that offset with ``stop_at``, then
  start a *new* uploader that finds the stored URL (``store_url=True``) and finishes it.
- aiotus only: ``files`` (list of paths) for ``upload_multiple``, ``parallel_uploads``;
  ``retry_attempts`` (default 1: fail at once so the test sees the error).

The result is one JSON line on stdout: ``{"ok": true, "url": ..., ...}`` or
``{"ok": false, "error": ..., "status": ...}``; the exit status is 0 either way. Run in a
subprocess so a peer's blocking I/O, warnings or event loop never touch the test process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

Result = dict[str, Any]


def _tuspy_failure(error: BaseException) -> Result:
    status = getattr(error, "status_code", None)
    body = getattr(error, "response_content", None)
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    return {
        "ok": False,
        "error": f"{type(error).__name__}: {error}",
        "status": status,
        "body": body,
    }


def run_tuspy(job: dict[str, Any]) -> Result:
    """One tuspy (``tusclient``) upload with the synchronous ``Uploader``."""
    client_module = importlib.import_module("tusclient.client")
    exceptions = importlib.import_module("tusclient.exceptions")
    client = client_module.TusClient(job["endpoint"])
    metadata = {k: ("" if v is None else v) for k, v in job.get("metadata", {}).items()}
    options: dict[str, Any] = {
        "file_path": job["file"],
        "metadata": metadata,
        "upload_checksum": bool(job.get("checksum", False)),
    }
    if job.get("chunk_size") is not None:
        options["chunk_size"] = int(job["chunk_size"])
    stop_at = job.get("abort_after_bytes")
    if stop_at is not None:
        storage_module = importlib.import_module("tusclient.storage.filestorage")
        options["store_url"] = True
        options["url_storage"] = storage_module.FileStorage(job["url_storage"])
    try:
        uploader = client.uploader(**options)
        if stop_at is None:
            uploader.upload()
            return {"ok": True, "url": uploader.url}
        uploader.upload(stop_at=int(stop_at))
        first_url, first_offset = uploader.url, uploader.offset
        options["url_storage"].close()
        # A fresh uploader, as a new process would make: it must find the URL by fingerprint.
        options["url_storage"] = storage_module.FileStorage(job["url_storage"])
        resumed = client.uploader(**options)
        resumed_offset = resumed.offset
        resumed.upload()
        options["url_storage"].close()
    except (exceptions.TusCommunicationError, OSError, ValueError) as error:
        return _tuspy_failure(error)
    return {
        "ok": True,
        "url": resumed.url,
        "aborted_url": first_url,
        "offset_before_abort": first_offset,
        "resumed_at_offset": resumed_offset,
    }


class _Collect(logging.Handler):
    """Keeps aiotus's log records: it reports failures only by logging and returning None."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _open_all(paths: list[str]) -> Iterator[list[BinaryIO]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(Path(p).open("rb")) for p in paths]


async def _aiotus(job: dict[str, Any], files: list[BinaryIO]) -> Result:
    aiotus = importlib.import_module("aiotus")
    logger = logging.getLogger("aiotus")
    collect = _Collect()
    logger.addHandler(collect)
    logger.setLevel(logging.DEBUG)
    metadata = {k: (None if v is None else v.encode()) for k, v in job.get("metadata", {}).items()}
    config = aiotus.RetryConfiguration(
        retry_attempts=int(job.get("retry_attempts", 1)), max_retry_period_seconds=1.0
    )
    chunksize = int(job.get("chunk_size") or 4 * 1024 * 1024)
    if "files" in job:
        url = await aiotus.upload_multiple(
            job["endpoint"],
            files,
            metadata=metadata,
            config=config,
            chunksize=chunksize,
            parallel_uploads=int(job.get("parallel_uploads", 3)),
        )
    else:
        url = await aiotus.upload(
            job["endpoint"], files[0], metadata=metadata, config=config, chunksize=chunksize
        )
    if url is None:
        return {"ok": False, "error": " | ".join(collect.lines) or "returned None", "status": None}
    return {"ok": True, "url": str(url)}


def run_aiotus(job: dict[str, Any]) -> Result:
    """One aiotus ``upload`` (or ``upload_multiple`` when the job has ``files``)."""
    with _open_all(job["files"] if "files" in job else [job["file"]]) as files:
        return asyncio.run(_aiotus(job, files))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("tuspy", "aiotus"):
        sys.exit("usage: python -m integration_tests.peers.pyclients {tuspy|aiotus} JOB.json")
    job = json.loads(Path(args[1]).read_text())
    result = run_tuspy(job) if args[0] == "tuspy" else run_aiotus(job)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
