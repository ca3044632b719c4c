"""``tus options``: what a server supports (its OPTIONS answer)."""

import json
from typing import Annotated

import typer

from tuskit_cli import _options as opt
from tuskit_common import format_extensions


def options(
    endpoint: opt.EndpointArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    header: opt.HeaderOption = None,
    retries: opt.RetriesOption = 3,
    insecure: opt.InsecureOption = False,
    verbose: opt.VerboseOption = False,
) -> None:
    """Show a server's tus versions, extensions, max size and checksums."""
    client_options = opt.ClientOptions.given(header, retries, insecure, verbose)
    caps = client_options.request(
        lambda client: client.options(), verbose=verbose, endpoint=endpoint
    )
    extensions = format_extensions(caps.extensions).split(",") if caps.extensions else []
    if as_json:
        document = {
            "versions": list(caps.versions),
            "extensions": extensions,
            "max_size": caps.max_size,
            "checksum_algorithms": list(caps.checksum_algorithms),
        }
        print(json.dumps(document, indent=2))
        return
    print(f"versions: {', '.join(caps.versions)}")
    print(f"extensions: {', '.join(extensions) or '(none)'}")
    print(f"max size: {'(none)' if caps.max_size is None else caps.max_size}")
    print(f"checksum algorithms: {', '.join(caps.checksum_algorithms) or '(none)'}")
