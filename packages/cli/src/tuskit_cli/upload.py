"""``tus upload``: upload files (several at once), resuming by default, URLs on stdout."""

import asyncio
import contextlib
import mimetypes
import sys
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tuskit_cli import _console
from tuskit_cli._options import (
    ClientOptions,
    DraftVersionOption,
    EndpointArgument,
    HeaderOption,
    InsecureOption,
    ProtocolOption,
    RetriesOption,
    VerboseOption,
    default_store,
    parse_headers,
)
from tuskit_cli._reach import Reachability
from tuskit_cli._sizes import parse_chunk_size
from tuskit_client import (
    LATEST_DRAFT,
    Client,
    JSONFileStore,
    ProgressCallback,
    StoredUpload,
    UploadResult,
    URLStore,
)
from tuskit_common import ALGORITHMS

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


def parse_checksum(name: str | None) -> str | None:
    """An algorithm tuskit knows, checked before any request (exit code 2)."""
    if name is not None and name not in ALGORITHMS:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(ALGORITHMS)}")
    return name


#: The FILE argument an upload task works on, for :class:`WatchedStore`.
_current: ContextVar[str] = ContextVar("tus_upload_file", default="")


class WatchedStore:
    """The resume store, noting each file's upload URL as it is saved, so that an
    interrupted run can say where its unfinished uploads are."""

    def __init__(self, store: URLStore) -> None:
        self.store = store
        self.urls: dict[str, str] = {}

    def _note(self, upload: StoredUpload | None) -> None:
        parts = [part for part in upload.parts if part is not None] if upload else []
        if upload is not None and upload.url is not None:
            self.urls[_current.get()] = upload.url
        elif parts:  # a parallel upload before its final one exists
            self.urls[_current.get()] = "parts " + ", ".join(parts)

    async def load(self, fingerprint: str) -> StoredUpload | None:
        found = await self.store.load(fingerprint)
        self._note(found)
        return found

    async def save(self, fingerprint: str, upload: StoredUpload) -> None:
        await self.store.save(fingerprint, upload)
        self._note(upload)

    async def remove(self, fingerprint: str) -> None:
        await self.store.remove(fingerprint)
        self.urls.pop(_current.get(), None)

    def interrupted(self, files: Sequence[str], done: Mapping[str, str]) -> list[str]:
        """The lines to print after Ctrl-C: each upload's URL, and how to resume."""
        lines = []
        for name in files:
            if name in done:
                lines.append(f"interrupted: {name} is complete at {done[name]}")
            elif name in self.urls:
                lines.append(
                    f"interrupted: {name} is unfinished at {self.urls[name]}; run the same "
                    "tus upload again to resume it"
                )
        return lines


def _progress_callback(
    bar: _console.Bars | None, task: TaskID | None, reach: Reachability
) -> ProgressCallback:
    def report(sent: int, acknowledged: int, total: int | None) -> None:
        reach.reached()  # bytes moved: the server is there
        if bar is not None and task is not None:
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
    bar: _console.Bars | None,
    reach: Reachability,
    done: dict[str, str],
) -> list[UploadResult | BaseException]:
    async def one(name: str) -> UploadResult:
        _current.set(name)
        task = bar.add_task(name, total=None) if bar is not None else None
        source: Path | BinaryIO = sys.stdin.buffer if name == STDIN else Path(name)
        result = await client.upload(
            source,
            metadata=metadata_for(name, metadata),
            resume=resume and name != STDIN,
            parallel=parallel,
            checksum=checksum,
            progress=_progress_callback(bar, task, reach),
        )
        done[name] = str(result.url)
        return result

    async with client:
        return await asyncio.gather(*(one(name) for name in files), return_exceptions=True)


def upload(
    endpoint: EndpointArgument,
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
        int,
        typer.Option(
            "--chunk-size",
            metavar="SIZE",
            parser=parse_chunk_size,
            show_default="8MiB",
            help="Bytes per PATCH, e.g. 8MiB, 500kB or 1048576.",
        ),
    ] = 8 << 20,
    parallel: Annotated[
        int,
        typer.Option(
            "--parallel", min=1, metavar="N", help="Split each file into N concatenated parts."
        ),
    ] = 1,
    checksum: Annotated[
        str | None,
        typer.Option(
            "--checksum",
            metavar="ALG",
            parser=parse_checksum,
            help=f"Per-chunk checksum: {', '.join(ALGORITHMS)}.",
        ),
    ] = None,
    no_resume: Annotated[
        bool, typer.Option("--no-resume", help="Start over instead of resuming.")
    ] = False,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            metavar="FILE",
            envvar="TUSKIT_RESUME_STORE",
            help="Resume store file (default: in the user's cache directory).",
        ),
    ] = None,
    protocol: ProtocolOption = "tus",
    draft_version: DraftVersionOption = LATEST_DRAFT,
    retries: RetriesOption = 10,
    insecure: InsecureOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Upload FILEs to ENDPOINT and print their upload URLs in order.

    An interrupted upload (Ctrl-C, a network failure) resumes when the same command runs
    again; after Ctrl-C the URL of each unfinished upload is printed on stderr.
    """
    _console.setup_logging(verbose)
    if files.count(STDIN) > 1:
        raise typer.BadParameter("stdin (-) can be read only once", param_hint="FILE")
    for name in files:
        if name != STDIN and not Path(name).is_file():
            raise typer.BadParameter(f"{name!r} is not a readable file", param_hint="FILE")
    options = ClientOptions(parse_headers(header), retries, insecure)
    watched = WatchedStore(JSONFileStore(store or default_store()))
    show = not quiet and _console.stderr.is_terminal
    bar = (
        _console.Bars(
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
    done: dict[str, str] = {}
    reach = Reachability(bar.show if bar is not None else None)  # the notice: below the bars
    client = options.client(
        endpoint,
        reach=reach,
        chunk_size=chunk_size,
        store=watched,
        protocol=protocol,
        draft_version=draft_version,
    )
    coroutine = _upload_all(
        client,
        files,
        parse_metadata(metadata),
        parallel=parallel,
        checksum=checksum,
        resume=not no_resume,
        bar=bar,
        reach=reach,
        done=done,
    )
    with bar if bar is not None else contextlib.nullcontext():
        results = _console.run(
            coroutine, verbose=verbose, interrupted=lambda: watched.interrupted(files, done)
        )
    failed = False
    for name, result in zip(files, results, strict=True):
        if isinstance(result, UploadResult):
            print(result.url, flush=True)
            continue
        failed = True
        if not isinstance(result, Exception):
            raise result
        _console.report(result, verbose=verbose, prefix=f"{name}: ", suffix=reach.note(result))
    if failed:
        raise typer.Exit(_console.FAILURE)
