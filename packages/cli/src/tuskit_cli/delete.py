"""``tus delete``: terminate an upload (termination extension)."""

from typing import Annotated

import typer

from tuskit_cli import _console
from tuskit_cli._options import (
    ClientOptions,
    HeaderOption,
    InsecureOption,
    RetriesOption,
    VerboseOption,
    parse_headers,
)


def delete(
    url: Annotated[str, typer.Argument(metavar="URL", help="The upload URL.")],
    header: HeaderOption = None,
    retries: RetriesOption = 3,
    insecure: InsecureOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Terminate an upload: the server frees it and answers 404/410 afterwards."""
    _console.setup_logging(verbose)
    options = ClientOptions(parse_headers(header), retries, insecure)
    options.request(lambda client: client.delete(url), verbose=verbose)
