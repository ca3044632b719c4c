"""Tools from Debian's packages, for the tests and the nox sessions alike: found on the PATH
(or in /usr/sbin, /sbin), else installed with ``apt-get update`` and ``apt-get install -y``
when running as root where apt-get exists, else a readable failure (never a skip).

Standard library only, so the server's unit tests and ``noxfile.py`` import it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence

__all__ = ["MissingTool", "debian_tool"]

#: ``run(argv, extra_env)``: run one apt-get command, raising when it fails.
Runner = Callable[[Sequence[str], Mapping[str, str]], object]


class MissingTool(RuntimeError):
    """The tool is missing and cannot be installed here; the message says what to do."""


def _subprocess(argv: Sequence[str], extra_env: Mapping[str, str]) -> None:
    subprocess.run(list(argv), check=True, env={**os.environ, **extra_env})


def debian_tool(tool: str, package: str, *, run: Runner = _subprocess) -> str:
    """The path of ``tool``, installing Debian's ``package`` first when it is missing.

    Raises:
        MissingTool: not found, and not installable here (not root, or no apt-get).
    """
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(tool, path=search)
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        quiet = {"DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], quiet)
        run(["apt-get", "install", "-y", "-qq", package], quiet)
        found = shutil.which(tool, path=search)
    if found is None:
        raise MissingTool(
            f"{tool} not found: install the Debian package {package} "
            f"(apt-get install -y {package}), or run as root so that it is installed"
        )
    return found
