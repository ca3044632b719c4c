"""What the nox sessions share: uv, the locked sync, Debian tools and throwaway venvs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

__all__ = ["UV", "debian_tool", "find_uv", "fresh_venv", "sync"]


def find_uv() -> str:
    """The uv binary: the one installed beside nox, else the first on PATH."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv") or "uv"
    return str(find_uv_bin())


UV = find_uv()


def sync(session: nox.Session, *args: str) -> None:
    """Install locked dependencies into this session's virtualenv with ``uv sync``."""
    session.run_install(
        UV,
        "sync",
        "--locked",
        "--no-default-groups",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


def debian_tool(session: nox.Session, tool: str, package: str) -> str:
    """The path of ``tool``, installing Debian's ``package`` first when it is missing (the
    tests' own :func:`integration_tests.debian.debian_tool`, run through the session)."""
    from integration_tests.debian import MissingTool
    from integration_tests.debian import debian_tool as find

    try:
        return find(
            tool, package, run=lambda argv, env: session.run(*argv, env=dict(env), external=True)
        )
    except MissingTool as exc:
        session.error(str(exc))


def fresh_venv(session: nox.Session, name: str) -> str:
    """A fresh virtualenv made by uv under the session's temp folder; its python."""
    venv = Path(session.create_tmp()).resolve() / name
    shutil.rmtree(venv, ignore_errors=True)
    session.run(UV, "venv", "--quiet", "--python", sys.executable, str(venv), external=True)
    return str(venv / "bin" / "python")
