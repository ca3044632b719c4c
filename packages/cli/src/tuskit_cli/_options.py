"""Options shared by the client commands, parsed once into a :class:`ClientOptions`."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import platformdirs
import typer
from yarl import URL

from tuskit_cli import _console
from tuskit_cli._reach import BUDGET, Reachability
from tuskit_client import (
    DEFAULT_CHUNK_SIZE,
    DRAFT_VERSIONS,
    LATEST_DRAFT,
    PROTOCOLS,
    Client,
    RetryConfiguration,
    URLStore,
)

T = TypeVar("T")

HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        metavar="'Name: value'",
        help="Extra request header, e.g. -H 'Authorization: Bearer x'. Repeatable.",
    ),
]
RetriesOption = Annotated[
    int,
    typer.Option(
        "--retries",
        min=0,
        metavar="N",
        help="Retries after a failure (counted anew after 1 MiB of progress); a server "
        f"that refuses connections is retried for {BUDGET:.0f} s at most.",
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


def parse_protocol(name: str) -> str:
    """A protocol the client speaks, checked before any request (exit code 2)."""
    if name not in PROTOCOLS:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(PROTOCOLS)}")
    return name


def parse_draft_version(value: str | int) -> int:
    """A draft interop version the client speaks, checked before any request (exit code 2);
    Typer hands the default over as the int it is."""
    text = str(value).strip()
    known = ", ".join(str(version) for version in DRAFT_VERSIONS)
    if not text.isdigit() or int(text) not in DRAFT_VERSIONS:
        raise typer.BadParameter(f"{text!r} is not one of the interop versions {known}")
    return int(text)


ProtocolOption = Annotated[
    str,
    typer.Option(
        "--protocol",
        metavar="NAME",
        parser=parse_protocol,
        help="tus (tus 1.0.0), ietf-draft (the IETF resumable-upload draft) or auto (the "
        "draft where the server's OPTIONS announces it, else tus).",
    ),
]
DraftVersionOption = Annotated[
    int,
    typer.Option(
        "--draft-version",
        metavar="N",
        parser=parse_draft_version,
        help="The draft's interop version for ietf-draft and auto: 3-8 (tusd 2.9 speaks 3-6).",
    ),
]


def default_store() -> Path:
    """Where resumable uploads are remembered: the user's cache directory."""
    return Path(platformdirs.user_cache_dir("tuskit")) / "uploads.json"


def parse_url(text: str) -> str:
    """An absolute http(s) URL with a host, checked before any request (exit code 2)."""
    try:
        url = URL(text.strip())
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise typer.BadParameter(
            f"expected an http(s) URL like http://127.0.0.1:1080/files/, got {text!r}"
        )
    return text.strip()  # as given: re-quoting could change an upload URL


EndpointArgument = Annotated[
    str,
    typer.Argument(
        metavar="ENDPOINT",
        parser=parse_url,
        help="The server's creation URL, e.g. http://127.0.0.1:1080/files/.",
    ),
]
UploadURLArgument = Annotated[
    str, typer.Argument(metavar="URL", parser=parse_url, help="The upload URL.")
]


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

    @classmethod
    def given(
        cls, header: Sequence[str] | None, retries: int, insecure: bool, verbose: bool
    ) -> "ClientOptions":
        """The options as a command received them; sets up logging first, so even a bad
        ``--header`` is reported at the verbosity asked for."""
        _console.setup_logging(verbose)
        return cls(parse_headers(header), retries, insecure)

    def client(
        self,
        endpoint: str | None = None,
        *,
        reach: Reachability,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        store: URLStore | None = None,
        protocol: str = "tus",
        draft_version: int = LATEST_DRAFT,
    ) -> Client:
        """A client with these headers, retries and TLS settings, speaking ``protocol``;
        ``reach`` bounds the retries of a server that cannot be reached."""
        # --retries counts retries; RetryConfiguration counts attempts, the first included.
        config = RetryConfiguration(
            retry_attempts=self.retries + 1,
            ssl=not self.insecure,
            should_retry=reach.should_retry,
        )
        return Client(
            endpoint,
            headers=self.headers,
            config=config,
            chunk_size=chunk_size,
            store=store,
            protocol=protocol,
            draft_version=draft_version,
            sleep=reach.sleep,
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
        with _console.status_line(True) as show:
            reach = Reachability(show)

            async def with_client() -> T:
                async with self.client(endpoint, reach=reach) as client:
                    return await action(client)

            return _console.run(with_client(), verbose=verbose, note=reach.note)
