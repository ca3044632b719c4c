"""``tus serve``: run the tuskit server with a file store until SIGINT or SIGTERM.

tuskit_server is imported only here, when the command runs, so the client commands start
without loading the server.
"""

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from tuskit_cli import _console
from tuskit_cli._options import VerboseOption
from tuskit_cli._sizes import parse_duration, parse_size

#: ``--max-size`` when not given: finite, so one request cannot fill the disk unasked.
DEFAULT_MAX_SIZE = "10GiB"


def _serve(
    *,
    host: str,
    port: int,
    workers: int,
    storage: Path,
    base_path: str,
    max_size: int | None,
    cors_origins: list[str],
    expire_after: float | None,
    checksums: list[str] | None,
    shutdown_timeout: float,
    keepalive_timeout: float = 15.0,
    max_connections: int | None = None,
    limits: tuple[int | None, int | None, int | None] = (None, None, None),
    header_timeout: float = 10.0,
) -> int:
    from tuskit_common import ALGORITHMS
    from tuskit_server import Cors, Expiration, Limits, serve

    def ready(url: str) -> None:
        print(url, flush=True)
        processes = f", {workers} processes" if workers > 1 else ""
        _console.stderr.print(
            f"serving tus uploads into {storage}{processes} (Ctrl-C to stop)", highlight=False
        )

    def stopping() -> None:
        _console.stderr.print("shutting down: finishing in-flight requests", highlight=False)

    return serve(
        host=host,
        port=port,
        workers=workers,
        shutdown_timeout=shutdown_timeout,
        keepalive_timeout=keepalive_timeout,
        max_connections=max_connections,
        header_timeout=header_timeout,
        print_url=False,
        on_ready=ready,
        on_stopping=stopping,
        upload_path=storage,
        upload_url=base_path,
        max_size=max_size,
        cors=Cors(origins=tuple(cors_origins)) if cors_origins else Cors(),
        expiration=None
        if expire_after is None
        else Expiration(after=timedelta(seconds=expire_after)),
        checksum_algorithms=tuple(checksums or ALGORITHMS),
        limits=Limits(*limits) if any(v is not None for v in limits) else None,
    )


def _check_storage(storage: Path) -> None:
    """Create the folder and write, then remove, a probe file in it: a read-only or
    uncreatable folder fails here, before the port opens, rather than on every upload."""
    import tempfile

    storage.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=storage, prefix=".tuskit-probe-"):
        pass


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 1080,
    storage: Annotated[
        Path, typer.Option(help="Directory for uploads (created if missing).")
    ] = Path("uploads"),
    base_path: Annotated[
        str, typer.Option("--base-path", help="URL path of the creation endpoint.")
    ] = "/files/",
    max_size: Annotated[
        str,
        typer.Option(
            "--max-size", metavar="SIZE", help="Largest upload, e.g. 2GiB; 'unlimited' for no cap."
        ),
    ] = DEFAULT_MAX_SIZE,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option("--cors-origin", help="Allowed browser origin (default: any). Repeatable."),
    ] = None,
    expire_after: Annotated[
        str,
        typer.Option(
            "--expire-after",
            metavar="DURATION",
            help="Idle time after which unfinished uploads expire, e.g. 24h; 'never' to keep them.",
        ),
    ] = "7d",
    checksum: Annotated[
        list[str] | None,
        typer.Option("--checksum", metavar="ALG", help="Checksum algorithm to offer. Repeatable."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port (one per core serves the most small "
            "uploads; concatenation-unfinished needs 1).",
        ),
    ] = 1,
    shutdown_timeout: Annotated[
        float, typer.Option(help="Seconds to let in-flight requests finish on shutdown.")
    ] = 10.0,
    keepalive_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds an idle connection is kept open after a response.",
        ),
    ] = 15.0,
    header_timeout: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds a new connection has to send its request head."),
    ] = 10.0,
    max_connections: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Open connections per process; more get 503 (default: what fits below the "
            "file descriptor limit).",
        ),
    ] = None,
    max_stored: Annotated[
        str | None,
        typer.Option(
            "--max-stored", metavar="SIZE", help="Bytes all uploads may take together (507)."
        ),
    ] = None,
    max_in_progress: Annotated[
        int | None,
        typer.Option("--max-in-progress", min=1, help="Unfinished uploads at most (503)."),
    ] = None,
    uploads_per_minute: Annotated[
        int | None,
        typer.Option(
            "--uploads-per-minute",
            min=1,
            help="Uploads one client address may create per minute (429).",
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Run a tus server with file storage (./uploads by default)."""
    _console.setup_logging(verbose)
    if not base_path.startswith("/"):
        raise typer.BadParameter("must start with /", param_hint="--base-path")
    from tuskit_common import ALGORITHMS

    for name in checksum or ():
        if name not in ALGORITHMS:
            raise typer.BadParameter(
                f"{name!r} is not one of {', '.join(ALGORITHMS)}", param_hint="--checksum"
            )
    expiry = None if expire_after.strip().lower() == "never" else parse_duration(expire_after)
    size_cap = None if max_size.strip().lower() == "unlimited" else parse_size(max_size)
    storage = storage.resolve()
    try:
        _check_storage(storage)
    except OSError as exc:
        _console.stderr.print(
            f"[bold red]error:[/] storage folder {storage} is not usable: {exc.strerror or exc}",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(_console.FAILURE) from None
    try:
        status = _serve(
            host=host,
            port=port,
            workers=workers,
            storage=storage,
            base_path=base_path,
            max_size=size_cap,
            cors_origins=cors_origin or [],
            expire_after=expiry,
            checksums=checksum,
            shutdown_timeout=shutdown_timeout,
            keepalive_timeout=keepalive_timeout,
            max_connections=max_connections,
            header_timeout=header_timeout,
            limits=(
                None if max_stored is None else parse_size(max_stored),
                max_in_progress,
                uploads_per_minute,
            ),
        )
    except (OSError, ValueError, RuntimeError) as exc:
        _console.report(exc, verbose=verbose)
        raise typer.Exit(_console.FAILURE) from None
    if status:
        raise typer.Exit(status)
