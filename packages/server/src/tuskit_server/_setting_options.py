"""How each setting shows on the command line, in the environment and in ``--help``.

Derived from the settings model's fields, so an option is declared once (in
:class:`tuskit_server.settings.ServerSettings`) and the parser, the docs and the help follow.
"""

from dataclasses import dataclass
from typing import Literal, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["ENV_PREFIX", "Option", "options_of"]

ENV_PREFIX = "TUSKIT_"


@dataclass(frozen=True, slots=True)
class Option:
    """One option as the command lines, the environment and the file spell it."""

    name: str
    kind: Literal["flag", "list", "value"]
    help: str
    default: str
    metavar: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


#: How the help shows a value and its default where ``str()`` would not say it well.
_METAVARS = {
    "host": "ADDRESS",
    "unix_socket": "PATH",
    "storage": "DIR",
    "store": "DIR|URL",
    "s3_endpoint": "URL",
    "s3_region": "REGION",
    "s3_part_size": "SIZE",
    "max_size": "SIZE",
    "metadata_limit": "SIZE",
    "splice_min": "SIZE",
    "expire_after": "DURATION",
    "expire_interval": "DURATION",
    "lock_timeout": "DURATION",
    "idle_timeout": "DURATION",
    "shutdown_timeout": "DURATION",
    "header_timeout": "DURATION",
    "keepalive_timeout": "DURATION",
    "max_connections": "N",
    "max_stored": "SIZE",
    "max_in_progress": "N",
    "uploads_per_minute": "N",
    "checksum": "ALG",
    "cors_origin": "ORIGIN",
    "disable": "EXTENSION",
    "tls_cert": "FILE",
    "tls_key": "FILE",
    "workers": "N",
    "locker": "URL",
    "log_format": "text|json",
    "hooks_http": "URL",
    "hooks_http_timeout": "DURATION",
    "hooks_http_retry": "N",
    "hooks_http_backoff": "DURATION",
    "hooks_dir": "DIR",
    "hooks_dir_timeout": "DURATION",
    "hooks_enabled_events": "EVENT",
}
_DEFAULTS = {
    "max_size": "10GiB",
    "expire_after": "7d",
    "expire_interval": "10m",
    "lock_timeout": "20s",
    "idle_timeout": "60s",
    "shutdown_timeout": "10s",
    "header_timeout": "10s",
    "keepalive_timeout": "15s",
    "splice_min": "1MiB",
    "store": "--storage",
    "s3_part_size": "5MiB",
    "hooks_http_timeout": "30s",
    "hooks_http_backoff": "1s",
    "hooks_dir_timeout": "30s",
}


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value)


def options_of(model: type[BaseModel]) -> tuple[Option, ...]:
    """Every field of ``model`` as an :class:`Option`, in declaration order."""
    found = []
    for name, field in model.model_fields.items():
        kind: Literal["flag", "list", "value"] = "value"
        if field.annotation is bool:
            kind = "flag"
        elif get_origin(field.annotation) is list:
            kind = "list"
        default = field.default if field.default is not PydanticUndefined else None
        shown = _DEFAULTS.get(name) or _shown(default)
        metavar = _METAVARS.get(name) or ("PATH" if name.endswith("path") else name.upper())
        found.append(Option(name, kind, field.description or "", shown, metavar))
    return tuple(found)
