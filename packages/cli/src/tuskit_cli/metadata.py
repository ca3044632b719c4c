"""``tus metadata``: print an upload's metadata, or its whole state as JSON."""

import base64
import json
from collections.abc import Mapping
from typing import Annotated

import typer

from tuskit_cli import _options as opt
from tuskit_client import UploadInfo
from tuskit_common.values import format_http_date


def as_text(value: bytes) -> str | None:
    """The value as text when it is printable UTF-8, else None (then it is shown as base64)."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def format_lines(metadata: Mapping[str, bytes | None]) -> list[str]:
    """``key: value`` lines; key-only entries print the key alone, binary values as base64."""
    lines = []
    for key, value in metadata.items():
        if value is None:
            lines.append(key)
            continue
        text = as_text(value)
        if text is None:
            lines.append(f"{key} (base64): {base64.b64encode(value).decode()}")
        else:
            lines.append(f"{key}: {text}")
    return lines


def format_json(info: UploadInfo) -> str:
    """Offset, length, expiry and metadata as JSON.

    ``metadata`` maps keys to text (null for key-only entries); values that are not printable
    UTF-8 go to ``metadata_base64`` instead, so no value is ever mangled.
    """
    text: dict[str, str | None] = {}
    binary: dict[str, str] = {}
    for key, value in info.metadata.items():
        decoded = None if value is None else as_text(value)
        if value is not None and decoded is None:
            binary[key] = base64.b64encode(value).decode()
        else:
            text[key] = decoded
    document = {
        "url": str(info.url),
        "offset": info.offset,
        "length": info.length,
        "complete": info.is_complete,
        "expires": None if info.expires is None else format_http_date(info.expires),
        "metadata": text,
        "metadata_base64": binary,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def metadata(
    url: opt.UploadURLArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print offset, length, expiry and metadata as JSON.")
    ] = False,
    header: opt.HeaderOption = None,
    retries: opt.RetriesOption = 3,
    insecure: opt.InsecureOption = False,
    verbose: opt.VerboseOption = False,
) -> None:
    """Print an upload's metadata as 'key: value' lines."""
    options = opt.ClientOptions.given(header, retries, insecure, verbose)
    info = options.request(lambda client: client.info(url), verbose=verbose)
    if as_json:
        print(format_json(info))
    else:
        for line in format_lines(info.metadata):
            print(line)
