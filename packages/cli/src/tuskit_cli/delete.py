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


async def _delete(options: ClientOptions, url: str) -> None:
    async with options.client() as client:
        await client.delete(url)


def delete(
    url: Annotated[str, typer.Argument(metavar="URL", help="The upload URL.")],
    header: HeaderOption = None,
    retries: RetriesOption = 3,
    insecure: InsecureOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Terminate an upload: the server frees it and answers 404/410 afterwards."""
    _console.setup_logging(verbose)
    _console.run(
        _delete(ClientOptions(parse_headers(header), retries, insecure), url), verbose=verbose
    )
