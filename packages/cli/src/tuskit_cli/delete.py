"""``tus delete``: terminate an upload (termination extension)."""

from tuskit_cli import _console
from tuskit_cli._options import (
    ClientOptions,
    HeaderOption,
    InsecureOption,
    RetriesOption,
    UploadURLArgument,
    VerboseOption,
    parse_headers,
)


def delete(
    url: UploadURLArgument,
    header: HeaderOption = None,
    retries: RetriesOption = 3,
    insecure: InsecureOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Terminate an upload: the server frees it and forgets its URL.

    Afterwards the URL answers 404 or 410 (the termination extension).
    """
    _console.setup_logging(verbose)
    options = ClientOptions(parse_headers(header), retries, insecure)
    options.request(lambda client: client.delete(url), verbose=verbose)
