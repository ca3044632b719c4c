"""``tus upload``: upload files (several at once), resuming by default, URLs on stdout."""

import asyncio
import mimetypes
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tuskit_cli import _console
from tuskit_cli._options import (
    ClientOptions,
    HeaderOption,
    InsecureOption,
    RetriesOption,
    VerboseOption,
    default_store,
    parse_headers,
)
from tuskit_cli._sizes import parse_size
from tuskit_client import Client, ProgressCallback, UploadResult

STDIN = "-"


def parse_metadata(values: Sequence[str] | None) -> dict[str, bytes | None]:
    """``KEY=VALUE`` options as metadata; a bare ``KEY`` is a key-only entry."""
    result: dict[str, bytes | None] = {}
    for value in values or ():
        key, sep, content = value.partition("=")
        if not key:
            raise typer.BadParameter(f"{value!r} has no key", param_hint="--metadata")
        result[key] = content.encode() if sep else None
    return result


def metadata_for(name: str, given: Mapping[str, bytes | None]) -> dict[str, bytes | None]:
    """Add ``filename`` (the base name) unless given, and the guessed type as ``filetype``
    (tus-js-client, Uppy) and ``mime_type`` (aiotus) unless the user gave either."""
    result = dict(given)
    if name != STDIN:
        result.setdefault("filename", Path(name).name.encode())
        guessed, _ = mimetypes.guess_type(name)
        if guessed is not None and not {"filetype", "mime_type"} & result.keys():
            result["filetype"] = result["mime_type"] = guessed.encode()
    return result


def _progress_callback(bar: Progress | None, task: TaskID | None) -> ProgressCallback | None:
    if bar is None or task is None:
        return None

    def report(sent: int, acknowledged: int, total: int | None) -> None:
        bar.update(task, completed=acknowledged, total=total)

    return report


async def _upload_all(
    client: Client,
    files: Sequence[str],
    metadata: dict[str, bytes | None],
    *,
    parallel: int,
    checksum: str | None,
    resume: bool,
    bar: Progress | None,
) -> list[UploadResult | BaseException]:
    async def one(name: str) -> UploadResult:
        task = bar.add_task(name, total=None) if bar is not None else None
        source: Path | BinaryIO = sys.stdin.buffer if name == STDIN else Path(name)
        return await client.upload(
            source,
            metadata=metadata_for(name, metadata),
            resume=resume and name != STDIN,
            parallel=parallel,
            checksum=checksum,
            progress=_progress_callback(bar, task),
        )

    async with client:
        return await asyncio.gather(*(one(name) for name in files), return_exceptions=True)


def upload(
    endpoint: Annotated[str, typer.Argument(metavar="ENDPOINT", help="The server's creation URL.")],
    files: Annotated[
        list[str], typer.Argument(metavar="FILE...", help="Files to upload; - reads stdin.")
    ],
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            "--metadata",
            "-m",
            metavar="KEY=VALUE",
            help="Upload-Metadata entry; KEY alone is key-only. Repeatable.",
        ),
    ] = None,
    header: HeaderOption = None,
    chunk_size: Annotated[
        str, typer.Option("--chunk-size", metavar="SIZE", help="Bytes per PATCH, e.g. 8MiB.")
    ] = "8MiB",
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, help="Split each file into N concatenated parts.")
    ] = 1,
    checksum: Annotated[
        str | None,
        typer.Option("--checksum", metavar="ALG", help="Per-chunk checksum: sha1, sha256, ..."),
    ] = None,
    no_resume: Annotated[
        bool, typer.Option("--no-resume", help="Start over instead of resuming.")
    ] = False,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            envvar="TUSKIT_RESUME_STORE",
            help="Resume store file (default: in the user's cache directory).",
        ),
    ] = None,
    retries: RetriesOption = 10,
    insecure: InsecureOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Upload FILEs to ENDPOINT and print each upload URL, in the order given."""
    _console.setup_logging(verbose)
    if files.count(STDIN) > 1:
        raise typer.BadParameter("stdin (-) can be read only once", param_hint="FILE")
    for name in files:
        if name != STDIN and not Path(name).is_file():
            raise typer.BadParameter(f"{name!r} is not a readable file", param_hint="FILE")
    options = ClientOptions(parse_headers(header), retries, insecure)
    client = options.client(
        endpoint, chunk_size=parse_size(chunk_size), store=store or default_store()
    )
    show = not quiet and _console.stderr.is_terminal
    bar = (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=_console.stderr,
        )
        if show
        else None
    )
    coroutine = _upload_all(
        client,
        files,
        parse_metadata(metadata),
        parallel=parallel,
        checksum=checksum,
        resume=not no_resume,
        bar=bar,
    )
    if bar is not None:
        with bar:
            results = _console.run(coroutine, verbose=verbose)
    else:
        results = _console.run(coroutine, verbose=verbose)
    failed = False
    for name, result in zip(files, results, strict=True):
        if isinstance(result, UploadResult):
            print(result.url, flush=True)
            continue
        failed = True
        if not isinstance(result, Exception):
            raise result
        _console.report(result, verbose=verbose, prefix=f"{name}: ")
    if failed:
        raise typer.Exit(_console.FAILURE)
