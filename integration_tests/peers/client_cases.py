"""The peer-client cases of the matrix, shared by both servers they upload to.

:data:`CASES` names one upload per cell (client, size, client options); the tests for
tuskit-server (``test_peer_clients_to_tuskit_server.py``) and for tusd
(``test_peer_clients_to_tusd.py``) run the same jobs and differ only in how they read back
what the server stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from integration_tests.peers.drivers import PeerClient

MiB = 1024 * 1024
#: Sent by every case: non-ASCII values and an empty value, which tus-js-client and tuspy
#: send as ``flag `` and aiotus as a key-only ``flag`` (None); tuskit reads both as None.
METADATA: dict[str, str | None] = {
    "filename": "Zürich – 東京 ✓.bin",
    "note": "naïve café, ß",
    "flag": None,
}
EXPECTED = {k: (None if v is None else v.encode()) for k, v in METADATA.items()}


def metadata_for(peer: PeerClient) -> dict[str, str | None]:
    """:data:`METADATA` as ``peer`` can take it."""
    if peer is PeerClient.AIOTUS:
        return dict(METADATA)
    # tus-js-client and tuspy take strings only: "" is as close to key-only as they get.
    return {k: ("" if v is None else v) for k, v in METADATA.items()}


@dataclass(frozen=True)
class Case:
    """One cell: the client, the upload's size and the client options that make the case."""

    peer: PeerClient
    size: int
    options: dict[str, Any] = field(default_factory=dict)
    parts: tuple[int, ...] = ()  # aiotus upload_multiple: the sizes of the files joined


CASES: dict[str, Case] = {
    # tus-js-client (Node) ------------------------------------------------------------
    "tus-js-client-small": Case(PeerClient.TUS_JS_CLIENT, 1000),
    "tus-js-client-empty": Case(PeerClient.TUS_JS_CLIENT, 0),
    "tus-js-client-64MiB": Case(PeerClient.TUS_JS_CLIENT, 64 * MiB),
    "tus-js-client-multi-chunk": Case(PeerClient.TUS_JS_CLIENT, 5 * MiB + 3, {"chunkSize": MiB}),
    "tus-js-client-parallelUploads-4": Case(
        PeerClient.TUS_JS_CLIENT, 8 * MiB + 1, {"parallelUploads": 4}
    ),
    "tus-js-client-uploadLengthDeferred": Case(
        PeerClient.TUS_JS_CLIENT,
        3 * MiB + 1,
        {"uploadLengthDeferred": True, "chunkSize": MiB, "input": "stream"},
    ),
    "tus-js-client-uploadDataDuringCreation": Case(
        PeerClient.TUS_JS_CLIENT, 3 * MiB, {"uploadDataDuringCreation": True, "chunkSize": MiB}
    ),
    "tus-js-client-resume-after-abort": Case(
        PeerClient.TUS_JS_CLIENT, 4 * MiB, {"chunkSize": MiB, "abortAfterBytes": MiB}
    ),
    # tuspy ----------------------------------------------------------------------------
    "tuspy-small": Case(PeerClient.TUSPY, 1000),
    "tuspy-empty": Case(PeerClient.TUSPY, 0),
    "tuspy-64MiB": Case(PeerClient.TUSPY, 64 * MiB),
    "tuspy-multi-chunk": Case(PeerClient.TUSPY, 5 * MiB + 3, {"chunk_size": MiB}),
    "tuspy-checksum-sha1": Case(
        PeerClient.TUSPY, 3 * MiB + 7, {"chunk_size": MiB, "checksum": True}
    ),
    "tuspy-resume-after-abort": Case(
        PeerClient.TUSPY, 4 * MiB, {"chunk_size": MiB, "abort_after_bytes": 2 * MiB}
    ),
    # aiotus ---------------------------------------------------------------------------
    "aiotus-small": Case(PeerClient.AIOTUS, 1000),
    "aiotus-empty": Case(PeerClient.AIOTUS, 0),
    "aiotus-64MiB": Case(PeerClient.AIOTUS, 64 * MiB),
    "aiotus-multi-chunk": Case(PeerClient.AIOTUS, 5 * MiB + 3, {"chunk_size": MiB}),
    "aiotus-upload_multiple": Case(
        PeerClient.AIOTUS, 0, {"chunk_size": MiB}, parts=(MiB + 1, 0, 3, 2 * MiB)
    ),
}


async def head(url: str) -> tuple[int, dict[str, str]]:
    """A raw HEAD with ``Tus-Resumable``: status and headers as the server sent them."""
    async with (
        aiohttp.ClientSession() as session,
        session.head(url, headers={"Tus-Resumable": "1.0.0"}) as response,
    ):
        return response.status, dict(response.headers)


def job_for(case: Case, endpoint: str, sources: list[Path], work: Path) -> dict[str, Any]:
    """The JSON job the peer client's runner takes for ``case``."""
    job: dict[str, Any] = {"endpoint": endpoint, "metadata": metadata_for(case.peer)}
    if case.parts:
        job["files"] = [str(p) for p in sources]
    else:
        job["file"] = str(sources[0])
    job.update(case.options)
    if "abortAfterBytes" in job:
        job["urlStorage"] = str(work / "tus-js-client-urls.json")
    if "abort_after_bytes" in job:
        job["url_storage"] = str(work / "tuspy-urls.json")
    return job
