"""Upload a file with a progress bar; run it again after an interruption and it resumes.

    python examples/resumable_client.py http://127.0.0.1:1080/files/ video.mp4 [--token T]

The upload URL is remembered in a JSON store (``--store``, ``tus-uploads.json`` by default),
keyed by the file and the endpoint, so a second run after Ctrl-C, a crash or a lost
connection continues from the offset the server has. The upload URL is printed on stdout;
the bar and the resume notice go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tuskit_client import Client, TusClientError


def progress_bar(sent: int, acknowledged: int, total: int | None) -> None:
    """Draw ``[#####.....]  42 %`` on one line of stderr, from the server's acknowledgements."""
    if not total:
        print(f"\r{acknowledged} bytes", end="", file=sys.stderr, flush=True)
        return
    done = acknowledged * 30 // total
    percent = acknowledged * 100 // total
    bar = "#" * done + "." * (30 - done)
    print(f"\r[{bar}] {percent:3d} %", end="", file=sys.stderr, flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", help="the server's creation URL")
    parser.add_argument("file", type=Path)
    parser.add_argument("--store", type=Path, default=Path("tus-uploads.json"))
    parser.add_argument("--token", help="sent as 'Authorization: Bearer TOKEN'")
    parser.add_argument("--chunk-size", type=int, default=8 << 20)
    args = parser.parse_args()
    # --8<-- [start:resume]
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    async with Client(
        args.endpoint, store=args.store, headers=headers, chunk_size=args.chunk_size
    ) as client:
        previous = await client.find_previous(args.file)
        if previous is not None and previous.url is not None:
            info = await client.info(previous.url)
            print(f"resuming {previous.url} at byte {info.offset}", file=sys.stderr)
        try:
            result = await client.upload(
                args.file,
                metadata={"filename": args.file.name.encode()},
                progress=progress_bar,
            )
        except TusClientError as error:
            print(f"\nerror: {error}", file=sys.stderr)
            return 1
    # --8<-- [end:resume]
    print(file=sys.stderr)
    print(result.url)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
