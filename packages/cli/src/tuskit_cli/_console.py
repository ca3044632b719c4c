"""Where the CLI's words go, and the one place that maps failures to exit codes.

Results go to stdout, everything else (progress, errors, logs) to stderr. Exit codes: 0 on
success, 1 for an upload, protocol or network failure (one readable line, no traceback unless
``--verbose``), 2 for usage errors (raised by Typer/Click themselves).
"""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.traceback import Traceback

from tuskit_common import TusError

T = TypeVar("T")

#: Everything that is not a result: errors, progress, logs.
stderr = Console(stderr=True)

FAILURE = 1


def setup_logging(verbose: bool) -> None:
    """Send the tuskit loggers to stderr at DEBUG with ``--verbose``; stay silent otherwise."""
    if not verbose:
        return
    handler = RichHandler(console=stderr, show_path=False, rich_tracebacks=True)
    for name in ("tuskit_client", "tuskit_server", "tuskit_cli", "aiohttp.access"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def report(exc: BaseException, *, verbose: bool, prefix: str = "") -> None:
    """Say on stderr what failed in one line, after the traceback when ``--verbose``."""
    if verbose:
        stderr.print(Traceback.from_exception(type(exc), exc, exc.__traceback__))
    stderr.print(f"[bold red]error:[/] {escape(prefix + describe(exc))}", soft_wrap=True)


def describe(exc: BaseException) -> str:
    """One line that says what went wrong, without a traceback (tuskit's errors, which may
    also be aiohttp's, carry their own readable message)."""
    if isinstance(exc, TusError):
        text = str(exc) or type(exc).__name__
        return text.splitlines()[0]
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"server answered {exc.status} {exc.message}"
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__


def run(coroutine: Coroutine[Any, Any, T], *, verbose: bool) -> T:
    """Run a command's coroutine; map failures to exit code 1 with one line on stderr."""
    try:
        return asyncio.run(coroutine)
    except KeyboardInterrupt:
        stderr.print("interrupted", highlight=False)
        raise typer.Exit(130) from None
    except (TimeoutError, TusError, aiohttp.ClientError, OSError, ValueError) as exc:
        report(exc, verbose=verbose)
        raise typer.Exit(FAILURE) from None
