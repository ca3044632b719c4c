"""``python -m tuskit_server``: the standalone server without the ``tus`` command.

The same options, defaults and code as ``tus serve`` (both parse with
:func:`tuskit_server.command.parser`); prints the endpoint URL as its first stdout line.
Exit status: 0 after a clean stop, 1 when the server cannot start, 2 for a bad option.
"""

import logging
import sys
import traceback
from collections.abc import Sequence

from tuskit_server.command import settings_from_argv
from tuskit_server.launch import StartupError, run
from tuskit_server.settings import SettingsError

USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, check, and serve until interrupted."""
    try:
        settings = settings_from_argv(argv, prog="python -m tuskit_server")
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(USAGE_ERROR) from None
    level = logging.DEBUG if settings.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")

    def ready(url: str) -> None:
        print(url, flush=True)
        print(f"serving tus uploads into {settings.storage.resolve()}", file=sys.stderr)

    def stopping() -> None:
        print("shutting down: finishing in-flight requests", file=sys.stderr, flush=True)

    try:
        status = run(
            settings,
            on_ready=ready,
            on_stopping=stopping,
            on_notice=lambda text: print(f"note: {text}", file=sys.stderr, flush=True),
        )
    except StartupError as exc:
        if settings.verbose:
            traceback.print_exception(exc)
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    raise SystemExit(status)


if __name__ == "__main__":
    main()
