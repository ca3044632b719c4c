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
) -> int:
    from tuskit_common import ALGORITHMS
    from tuskit_server import Cors, Expiration, serve

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
    )


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
        str | None, typer.Option("--max-size", metavar="SIZE", help="Largest upload, e.g. 2GiB.")
    ] = None,
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
    expiry = (
        None
        if expire_after.strip().lower() == "never"
        else parse_duration(expire_after, param_hint="--expire-after")
    )
    storage = storage.resolve()
    try:
        storage.mkdir(parents=True, exist_ok=True)
        status = _serve(
            host=host,
            port=port,
            workers=workers,
            storage=storage,
            base_path=base_path,
            max_size=None if max_size is None else parse_size(max_size, param_hint="--max-size"),
            cors_origins=cors_origin or [],
            expire_after=expiry,
            checksums=checksum,
            shutdown_timeout=shutdown_timeout,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        _console.report(exc, verbose=verbose)
        raise typer.Exit(_console.FAILURE) from None
    if status:
        raise typer.Exit(status)
