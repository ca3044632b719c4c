"""``tus delete``: terminate an upload (termination extension)."""

from tuskit_cli import _options as opt


def delete(
    url: opt.UploadURLArgument,
    header: opt.HeaderOption = None,
    retries: opt.RetriesOption = 3,
    insecure: opt.InsecureOption = False,
    verbose: opt.VerboseOption = False,
) -> None:
    """Terminate an upload: the server frees it and forgets its URL.

    Afterwards the URL answers 404 or 410 (the termination extension).
    """
    options = opt.ClientOptions.given(header, retries, insecure, verbose)
    options.request(lambda client: client.delete(url), verbose=verbose)
