"""Options shared by the client commands, parsed once into a :class:`ClientOptions`."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import platformdirs
import typer

from tuskit_cli import _console
from tuskit_client import DEFAULT_CHUNK_SIZE, Client, RetryConfiguration

T = TypeVar("T")

HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        metavar="'NAME: VALUE'",
        help="Extra request header, e.g. -H 'Authorization: Bearer x'. Repeatable.",
    ),
]
RetriesOption = Annotated[
    int,
    typer.Option(
        "--retries", min=0, help="Retries after a failure (counted anew after 1 MiB of progress)."
    ),
]
InsecureOption = Annotated[
    bool, typer.Option("--insecure", "-k", help="Do not verify the server's TLS certificate.")
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        "--debug",
        help="Log protocol steps and show tracebacks.",
    ),
]


def default_store() -> Path:
    """Where resumable uploads are remembered: the user's cache directory."""
    return Path(platformdirs.user_cache_dir("tuskit")) / "uploads.json"


def parse_headers(values: Sequence[str] | None) -> dict[str, str]:
    """Turn ``-H 'Name: value'`` options into a dict; a malformed one is a usage error."""
    result: dict[str, str] = {}
    for value in values or ():
        name, sep, content = value.partition(":")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            raise typer.BadParameter(f"{value!r} is not 'Name: value'", param_hint="--header")
        result[name] = content.strip()
    return result


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """What every client command needs to build a :class:`tuskit_client.Client`."""

    headers: dict[str, str]
    retries: int
    insecure: bool

    def client(
        self,
        endpoint: str | None = None,
        *,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        store: Path | None = None,
    ) -> Client:
        """A client with these headers, retries and TLS settings."""
        # --retries counts retries; RetryConfiguration counts attempts, the first included.
        config = RetryConfiguration(retry_attempts=self.retries + 1, ssl=not self.insecure)
        return Client(
            endpoint, headers=self.headers, config=config, chunk_size=chunk_size, store=store
        )

    def request(
        self,
        action: Callable[[Client], Awaitable[T]],
        *,
        verbose: bool,
        endpoint: str | None = None,
    ) -> T:
        """Run one request command: ``action`` with a client of these options, its failures
        mapped to exit code 1 and one line on stderr (:func:`_console.run`)."""

        async def with_client() -> T:
            async with self.client(endpoint) as client:
                return await action(client)

        return _console.run(with_client(), verbose=verbose)
