"""``python -m benchmarks --store s3``: tuskit-server's S3Store against the raw limit of the
same S3 server (issue 23).

moto's S3 server runs on loopback; then, ``--reps`` times (after one unmeasured warm-up):
the raw limit, a plain aiobotocore multipart upload of the large file straight to moto
(parts of the size S3Store picks, the next part read from disk while one is sent, as
S3Store overlaps receiving and sending), and the same file through a tus server on S3Store
(``integration_tests/s3_app.py``) with the tuskit client in one request, with the server's
peak RSS, and again through @tus/server on @tus/s3-store (npm, pinned with the interop peers)
on the same moto server. Every upload is checked in the bucket (one object of the file's
size) and deleted. Then 4 KiB uploads (a POST and a PATCH each, 32 at once,
``--small-count`` of them, by ``benchmarks.load``) through the tuskit server, and through
``tus serve`` with the Redis locker, one instance and two sharing the bucket and Redis
(:mod:`benchmarks.s3_small`). Last, where
a part waits while it fills: in memory, or spooled to a temporary file through a worker
thread (:class:`tuskit_server.stores.s3._spool.Spool`), timed for the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiobotocore.session import get_session

from benchmarks import clients, s3_small, servers
from integration_tests.harness import (
    HttpProbe,
    ReadyCheck,
    RunningServer,
    UrlLine,
    free_port,
    make_file,
    running_server,
)
from integration_tests.peers.drivers import HERE as PEERS_DIR
from integration_tests.peers.drivers import node, node_prefix
from integration_tests.s3 import CREDENTIALS, MotoS3, moto_s3_server, tus_on_s3_argv
from tuskit_server.stores.s3._layout import MIN_PART, next_part_size
from tuskit_server.stores.s3._spool import Spool

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

_PIECE = 256 * 1024  # what aiohttp hands a store per read, about


def _mb_s(size: int, seconds: float) -> float:
    return size / seconds / 1e6


async def _raw_upload(url: str, bucket: str, source: Path, size: int) -> float:
    """Seconds for a plain multipart upload of ``source`` (one part in flight)."""
    part = next_part_size(base=MIN_PART, target=size, offset=0, parts=0)
    async with get_session().create_client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    ) as s3:
        started = time.perf_counter()
        upload = (await s3.create_multipart_upload(Bucket=bucket, Key="raw"))["UploadId"]
        parts: list[CompletedPartTypeDef] = []
        flight: asyncio.Task[Any] | None = None
        with source.open("rb") as file:
            number = 0
            while data := await asyncio.to_thread(file.read, part):
                number += 1
                if flight is not None:
                    parts.append({"PartNumber": number - 1, "ETag": (await flight)["ETag"]})
                flight = asyncio.ensure_future(
                    s3.upload_part(
                        Bucket=bucket, Key="raw", UploadId=upload, PartNumber=number, Body=data
                    )
                )
            if flight is not None:
                parts.append({"PartNumber": number, "ETag": (await flight)["ETag"]})
        await s3.complete_multipart_upload(
            Bucket=bucket, Key="raw", UploadId=upload, MultipartUpload={"Parts": parts}
        )
        return time.perf_counter() - started


def _stored_and_cleared(moto: MotoS3, bucket: str, size: int) -> str | None:
    """None when the bucket holds one object of ``size`` bytes (then deleted), else why not."""
    client = moto.client()
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    sizes = {o["Key"]: o["Size"] for o in listed}
    for key in sizes:
        client.delete_object(Bucket=bucket, Key=key)
    whole = [k for k, n in sizes.items() if n == size]
    return None if len(whole) == 1 else f"no single object of {size} bytes: {sizes}"


async def _pieces(size: int) -> AsyncIterator[bytes]:
    piece = os.urandom(_PIECE)
    for _ in range(size // _PIECE):
        yield piece


async def _staging(size: int, part: int) -> dict[str, float]:
    """MB/s of filling ``size`` bytes into parts of ``part`` bytes and taking each out whole:
    in memory (as S3Store does), or spooled to a temporary file off the loop."""
    started = time.perf_counter()
    buffer = bytearray()
    async for piece in _pieces(size):
        buffer += piece
        if len(buffer) >= part:
            out = bytes(buffer[:part])
            del buffer[:part]
            assert len(out) == part
    memory = time.perf_counter() - started

    started = time.perf_counter()
    spool, held = Spool(), 0

    async def drain() -> None:
        taken = bytearray()
        async for piece in spool.replay():
            taken += piece
        await spool.close()

    async def one_part(pieces: list[bytes]) -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    pending: list[bytes] = []
    async for piece in _pieces(size):
        pending.append(piece)
        held += len(piece)
        if held >= part:
            await spool.fill(one_part(pending))
            await drain()
            spool, pending, held = Spool(), [], 0
    spooled = time.perf_counter() - started
    return {"memory_mb_s": _mb_s(size, memory), "temp_file_mb_s": _mb_s(size, spooled)}


TUSKIT = "tuskit-server"
SERVERS = (TUSKIT, "@tus/s3-store")


def _server_command(name: str, endpoint: str, bucket: str) -> tuple[list[str], ReadyCheck]:
    """The command line and readiness check of a tus server on ``bucket``."""
    if name == TUSKIT:
        port = free_port()
        url = f"http://127.0.0.1:{port}/uploads"
        return list(tus_on_s3_argv(port, endpoint, bucket)), HttpProbe(url)
    script = str(PEERS_DIR / "tus_node_server.mjs")
    argv = [node(), script, "--modules", str(node_prefix()), "--s3-bucket", bucket]
    return [*argv, "--s3-endpoint", endpoint], UrlLine()


def _through(
    server: RunningServer, moto: MotoS3, bucket: str, source: Path, size: int, work: Path
) -> dict[str, Any]:
    """One upload of ``source`` with the tuskit client in one request, checked in the
    bucket; seconds and the server's peak RSS."""
    process = server.server.process
    assert process is not None
    servers.reset_peak_rss(process.pid)
    upload = clients.upload("tuskit", server.url, source, size, None, work / "client", 3600)
    rss = servers.peak_rss(process.pid)
    error = upload.error or _stored_and_cleared(moto, bucket, size)
    return {"seconds": upload.seconds, "server_rss": rss, "error": error}


def run(args: argparse.Namespace) -> None:
    """The S3 benchmark with ``python -m benchmarks``'s ``--size``, ``--reps`` and ``--out``."""
    work = Path(args.work or "/tmp/tuskit-bench-s3")
    work.mkdir(parents=True, exist_ok=True)
    source = make_file(work / "bench.bin", args.size).path
    data: dict[str, Any] = {"size": args.size, "reps": args.reps, "raw": []}
    data.update({name: [] for name in SERVERS})
    env = {**os.environ, **CREDENTIALS}
    with moto_s3_server(work / "moto") as moto, contextlib.ExitStack() as stack:
        bucket = moto.new_bucket()
        started: dict[str, RunningServer] = {}
        for name in SERVERS:
            argv, ready = _server_command(name, moto.url, bucket)
            log_dir = work / f"server-{len(started)}"
            started[name] = stack.enter_context(
                running_server(argv, ready=ready, log_dir=log_dir, env=env)
            )
        for rep in range(args.reps + 1):
            seconds = asyncio.run(_raw_upload(moto.url, bucket, source, args.size))
            raw_error = _stored_and_cleared(moto, bucket, args.size)
            if rep:  # the first round is a warm-up
                data["raw"].append({"seconds": seconds, "error": raw_error})
            line = [f"rep {rep}: raw {_mb_s(args.size, seconds):.0f} MB/s"]
            for name, server in started.items():
                cell = _through(server, moto, bucket, source, args.size, work)
                line.append(f"{name} {_mb_s(args.size, cell['seconds']):.0f} MB/s")
                if rep:
                    data[name].append(cell)
            print(", ".join(line), file=sys.stderr)
        data["small"] = s3_small.measure([started[TUSKIT].url], args.small_count)
        data.update(s3_small.with_redis(moto, work, args.small_count))
    part = next_part_size(base=MIN_PART, target=args.size, offset=0, parts=0)
    data["staging"] = asyncio.run(_staging(args.size, part))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1))
    print(render(data))


def render(data: dict[str, Any]) -> str:
    """The Markdown tables of a run."""
    size = data["size"]
    raw = statistics.median(r["seconds"] for r in data["raw"])
    lines = [
        f"| {size / 2**20:.0f} MiB to moto (median of {data['reps']}) | MB/s | of raw "
        "| peak server RSS |",
        "|---|---|---|---|",
        f"| raw limit: aiobotocore multipart upload | {_mb_s(size, raw):.0f} | 1.00 | |",
    ]
    errors = [r["error"] for r in data["raw"] if r["error"]]
    for name in SERVERS:
        cells = data.get(name, [])
        if not cells:
            continue
        seconds = statistics.median(c["seconds"] for c in cells)
        rss = max((c["server_rss"] or 0) for c in cells) / 2**20
        errors += [c["error"] for c in cells if c["error"]]
        lines.append(
            f"| tuskit client → {name} | {_mb_s(size, seconds):.0f} | {raw / seconds:.2f} "
            f"| {rss:.0f} MiB |"
        )
    staging = data["staging"]
    lines += [
        "",
        *s3_small.render(data),
        "",
        "| a part waits while it fills | MB/s |",
        "|---|---|",
        f"| in memory (S3Store) | {staging['memory_mb_s']:.0f} |",
        f"| in a temporary file, off the loop | {staging['temp_file_mb_s']:.0f} |",
    ]
    if errors:
        lines.append("\nerrors: " + "; ".join(errors))
    return "\n".join(lines)
