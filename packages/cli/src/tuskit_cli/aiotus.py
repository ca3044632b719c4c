"""aiotus's command line over tuskit: ``python -m tuskit_cli.aiotus`` (and the ``aiotus``
compatibility shim's ``python -m aiotus``) takes aiotus's grammar and exit codes::

    [--debug] upload [--metadata KEY[=VALUE]]... ENDPOINT FILE   -> the upload URL
    [--debug] metadata LOCATION                                  -> 'key: value' lines

Exit codes: 0 on success, 1 on failure or without a command, 2 for usage errors. The upload
sends ``filename`` and ``mime_type`` (aiotus's keys) unless ``--metadata`` gives them. The
work goes through ``tuskit_client.retry``'s functions, looked up at call time, so they keep
their (patchable) defaults.
"""

import argparse
import asyncio
import mimetypes
import sys
from collections.abc import Sequence
from pathlib import Path

from tuskit_cli import _console
from tuskit_cli.metadata import format_lines
from tuskit_client import retry

FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    debug = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a --debug before the command is not reset by the subcommand's default.
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="Log protocol steps."
    )
    parser = argparse.ArgumentParser(
        prog="aiotus", description="Upload files with tus (aiotus-compatible).", parents=[debug]
    )
    commands = parser.add_subparsers(dest="command")
    upload = commands.add_parser("upload", parents=[debug], help="Upload a file.")
    upload.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY[=VALUE]",
        help="Upload-Metadata entry; KEY alone is key-only. Repeatable.",
    )
    upload.add_argument("endpoint", metavar="ENDPOINT", help="The server's creation URL.")
    upload.add_argument("file", metavar="FILE", type=Path, help="The file to upload.")
    show = commands.add_parser("metadata", parents=[debug], help="Print an upload's metadata.")
    show.add_argument("location", metavar="LOCATION", help="The upload URL.")
    return parser


def upload_metadata(path: Path, given: Sequence[str]) -> dict[str, bytes | None]:
    """aiotus's ``filename`` and ``mime_type`` (when guessable), then the user's entries."""
    result: dict[str, bytes | None] = {"filename": path.name.encode()}
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed is not None:
        result["mime_type"] = guessed.encode()
    for entry in given:
        key, sep, value = entry.partition("=")
        result[key] = value.encode() if sep else None
    return result


async def _upload(endpoint: str, path: Path, metadata: dict[str, bytes | None]) -> int:
    try:
        file = await asyncio.to_thread(path.open, "rb")
    except OSError as exc:
        print(f"Unable to open {str(path)!r}: {exc.strerror or exc}", file=sys.stderr)
        return FAILURE
    try:
        location = await retry.upload(endpoint, file, metadata)
    finally:
        await asyncio.to_thread(file.close)
    if location is None:
        print(f"Unable to upload {str(path)!r} to {endpoint}.", file=sys.stderr)
        return FAILURE
    print(location, flush=True)
    return 0


async def _metadata(location: str) -> int:
    found = await retry.metadata(location)
    if found is None:
        print(f"Unable to get the metadata of {location}.", file=sys.stderr)
        return FAILURE
    for line in format_lines(found):
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one aiotus command; the exit code."""
    args = _parser().parse_args(argv)
    if args.command is None:
        print("No command specified.", file=sys.stderr)
        return FAILURE
    _console.setup_logging(getattr(args, "debug", False))
    try:
        if args.command == "upload":
            return asyncio.run(
                _upload(args.endpoint, args.file, upload_metadata(args.file, args.metadata))
            )
        return asyncio.run(_metadata(args.location))
    except ValueError as exc:  # invalid metadata (a bad key), raised before any request
        print(f"error: {exc}", file=sys.stderr)
        return FAILURE


if __name__ == "__main__":
    sys.exit(main())
