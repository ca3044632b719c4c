"""Where the CLI's words go, and the one place that maps failures to exit codes.

Results go to stdout, everything else (progress, errors, logs) to stderr. Exit codes: 0 on
success, 1 for an upload, protocol or network failure, 2 for usage errors, 130 after Ctrl-C;
each failure is one readable line (no traceback unless ``--verbose``).
"""

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import aiohttp
import typer
from rich.console import Console, RenderableType
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import Progress
from rich.status import Status
from rich.text import Text
from rich.traceback import Traceback
from typer import _click as click  # Typer 0.29 vendors Click: its classes are these
from typer._click.exceptions import BadParameter, MissingParameter, NoArgsIsHelpError, UsageError
from typer.core import TyperArgument, TyperOption
from yarl import URL

from tuskit_cli._reach import Show, unreachable
from tuskit_client import ResponseError
from tuskit_common import TusError

T = TypeVar("T")

#: Everything that is not a result: errors, progress, logs.
stderr = Console(stderr=True)

FAILURE = 1
USAGE = 2
INTERRUPTED = 130

_LOGGERS = ("tuskit_client", "tuskit_server", "tuskit_cli", "aiohttp.access")


def setup_logging(verbose: bool, *, server_warnings: bool = False) -> None:
    """Send the tuskit loggers to stderr at DEBUG with ``--verbose``; stay silent otherwise
    (a NullHandler keeps Python's last-resort handler from printing every retry warning),
    except, with ``server_warnings`` (``tus serve``), the server's warnings, which an
    operator must see (a full disk, descriptors running out)."""
    if not verbose:  # asyncio's too: its "never retrieved" reports carry tracebacks
        if server_warnings:
            shown = logging.StreamHandler(sys.stderr)
            shown.setLevel(logging.WARNING)
            logging.getLogger("tuskit_server").addHandler(shown)
        for name in (*_LOGGERS, "asyncio"):
            logger = logging.getLogger(name)
            if not logger.handlers:
                logger.addHandler(logging.NullHandler())
        return
    handler = RichHandler(console=stderr, show_path=False, rich_tracebacks=True)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def report(exc: BaseException, *, verbose: bool, prefix: str = "", suffix: str = "") -> None:
    """Say on stderr what failed in one line, after the traceback when ``--verbose``."""
    if verbose:
        stderr.print(Traceback.from_exception(type(exc), exc, exc.__traceback__))
    error(prefix + describe(exc) + suffix)


def error(line: str) -> None:
    """One ``error: ...`` line on stderr."""
    stderr.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, highlight=False)


def usage_error(exc: click.ClickException) -> int:
    """Say what is wrong with the command line in one line (no usage block); its exit code.

    A bad value names its option or argument first (``--chunk-size: expected ...``); other
    usage errors point at the command's ``--help``.
    """
    if isinstance(exc, NoArgsIsHelpError):
        exc.show()  # bare ``tus``: the help itself
        return exc.exit_code
    line = exc.format_message()
    if isinstance(exc, BadParameter) and not isinstance(exc, MissingParameter):
        param = exc.param
        hint = exc.param_hint
        if hint is None and isinstance(param, TyperOption):
            hint = param.opts[0]
        elif hint is None and isinstance(param, TyperArgument):
            hint = param.display_name_raw
        line = f"{hint}: {exc.message}" if hint else exc.message
    elif isinstance(exc, UsageError) and exc.ctx is not None:
        line = f"{line.rstrip('.')} (see '{exc.ctx.command_path} --help')"
    error(line)
    return exc.exit_code


def describe(exc: BaseException) -> str:
    """One line that says what went wrong, without a traceback (tuskit's errors, which may
    also be aiohttp's, carry their own readable message)."""
    where = unreachable(exc)
    if where is not None:
        return f"cannot connect to {where}"
    if isinstance(exc, TusError):
        text = (str(exc) or type(exc).__name__).splitlines()[0]
        return text + _endpoint_hint(exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"server answered {exc.status} {exc.message}"
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__


def _endpoint_hint(exc: TusError) -> str:
    """For a 404/405 on creation or discovery: the likely mistake, the wrong ENDPOINT."""
    if not isinstance(exc, ResponseError) or exc.status not in (404, 405):
        return ""
    if exc.method not in ("POST", "OPTIONS"):
        return ""
    example = URL(exc.url).origin().with_path("/files/")
    return f" (is ENDPOINT the server's creation URL, e.g. {example}?)"


def run(
    coroutine: Coroutine[Any, Any, T],
    *,
    verbose: bool,
    note: Callable[[BaseException], str] = lambda _: "",
    interrupted: Callable[[], Sequence[str]] = tuple,
) -> T:
    """Run a command's coroutine; map failures to exit code 1 with one line on stderr (and
    ``note``'s words), Ctrl-C to 130 after ``interrupted``'s lines (what can be resumed)."""
    try:
        return asyncio.run(coroutine)
    except KeyboardInterrupt:
        lines = interrupted()
        for line in lines:
            stderr.print(line, highlight=False, soft_wrap=True)
        if not lines:
            stderr.print("interrupted", highlight=False)
        raise typer.Exit(INTERRUPTED) from None
    except (TimeoutError, TusError, aiohttp.ClientError, OSError, ValueError) as exc:
        report(exc, verbose=verbose, suffix=note(exc))
        raise typer.Exit(FAILURE) from None


class Bars(Progress):
    """Upload progress bars with room for one notice line below them (the retry wait)."""

    notice: str | None = None

    def get_renderables(self) -> Iterator[RenderableType]:
        yield from super().get_renderables()
        if self.notice:
            yield Text(self.notice, style="yellow", no_wrap=True, overflow="ellipsis")

    def stop(self) -> None:
        self.notice = None  # the last picture keeps the bars, not a stale notice
        super().stop()

    def show(self, text: str | None) -> None:
        """Set or clear the notice line."""
        self.notice = text
        if self.live.is_started:
            self.refresh()


@contextmanager
def status_line(enabled: bool) -> Iterator[Show]:
    """A ``show(text | None)`` for one updating line on a terminal stderr (a no-op when not
    ``enabled`` or not a terminal); the line is gone when the block ends."""
    status: Status | None = None

    def show(text: str | None) -> None:
        nonlocal status
        if not enabled or not stderr.is_terminal:
            return
        if text is None:
            if status is not None:
                status.stop()
                status = None
        elif status is None:
            status = stderr.status(text)
            status.start()
        else:
            status.update(text)

    try:
        yield show
    finally:
        show(None)
