"""The official tus implementations the interop, compat and bench sessions run against:
pinned, installed (Python and npm) or built from source (tusd) by the session itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

from nox_support.tools import sync

__all__ = ["PYTHON_PEERS", "TUSD_MODULE", "TUSD_VERSION", "install_peers", "tusd_binary"]

ROOT = Path(__file__).resolve().parent.parent


#: The official tus implementations the interop suite runs against, pinned. The npm ones are
#: pinned by integration_tests/peers/package-lock.json.
PYTHON_PEERS = (
    "aiohttp-tus==1.1.0",  # server (aiohttp plugin)
    "tuspyserver==4.4.3",  # server (FastAPI router)
    "uvicorn==0.54.0",  # runs tuspyserver
    "tuspy==1.1.0",  # client (import tusclient)
    "aiotus==1.1.0",  # client
)
NODE_PEERS = ROOT / "integration_tests" / "peers"


def install_peers(session: nox.Session) -> dict[str, str]:
    """The locked workspace plus every peer, for the interop and bench sessions; returns the
    environment that tells the drivers where the peers are.

    Installs the pinned Python peers into the session after the locked sync, the npm peers
    with ``npm ci`` into ``<nox cache>/<session>-npm`` (``TUSKIT_INTEROP_NODE_PREFIX``), and
    builds tusd with :func:`tusd_binary` (``TUSKIT_INTEROP_TUSD``). Node.js and npm, and Go,
    must be on PATH; without them the session fails.
    """
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        session.error(
            f"{' and '.join(missing)} not found on PATH: the {session.name} session runs "
            "@tus/server and tus-js-client under Node.js >= 20.19 (install Node.js with npm)"
        )
    tusd = tusd_binary(session)
    sync(session, "--all-packages", "--group", "test-aiohttp")
    session.install(*PYTHON_PEERS)
    prefix = Path(session.cache_dir) / f"{session.name}-npm"
    prefix.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(NODE_PEERS / name, prefix / name)
    session.run(
        "npm",
        "ci",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        external=True,
    )
    return {"TUSKIT_INTEROP_NODE_PREFIX": str(prefix), "TUSKIT_INTEROP_TUSD": str(tusd)}


#: tusd, the Go reference server, built from source by the Go toolchain (never a prebuilt
#: binary); aiotus's own suite starts it.
TUSD_MODULE = "github.com/tus/tusd/v2/cmd/tusd"
TUSD_VERSION = "v2.9.1"


def tusd_binary(session: nox.Session) -> Path:
    """Build tusd with ``go install`` into nox's cache, once per version, and return it."""
    go = shutil.which("go")
    if go is None:
        session.error(
            f"go not found on PATH: the {session.name} session builds tusd {TUSD_VERSION} "
            f"(go install {TUSD_MODULE}@{TUSD_VERSION}); install the Go toolchain"
        )
    gobin = Path(session.cache_dir).resolve() / f"tusd-{TUSD_VERSION}"
    binary = gobin / "tusd"
    if not binary.exists():
        session.run(
            go,
            "install",
            f"{TUSD_MODULE}@{TUSD_VERSION}",
            env={"GOBIN": str(gobin), "GOFLAGS": "-mod=mod"},
            external=True,
        )
    return binary
