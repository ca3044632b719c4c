"""Every check the project runs, each session in an environment of its own.

Sessions sync the locked workspace (``uv.lock``) into nox's virtualenv, installing only what
that session needs: ``tests-client`` gets tuskit-client and its declared dependencies and
nothing of the server, so an import that only works through a sibling fails there.
``nox`` with no arguments runs the default set, which is the README's test command.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = [
    "lint",
    "typecheck",
    "imports",
    "tests-common",
    "tests-client",
    "tests-server",
    "tests-cli",
    "integration",
    "fuzz",
    "interop",
    "build",
]

ROOT = Path(__file__).parent
#: Sessions run on the interpreter that runs nox (the project needs >= 3.11).
PYTHON: str | None = None


def _find_uv() -> str:
    """The uv binary: the one installed beside nox, else the first on PATH."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv") or "uv"
    return str(find_uv_bin())


UV = _find_uv()
PACKAGES = {
    "common": ("tuskit-common", "tuskit_common", "test"),
    "client": ("tuskit-client", "tuskit_client", "test-aiohttp"),
    "server": ("tuskit-server", "tuskit_server", "test-aiohttp"),
    "cli": ("tuskit", "tuskit_cli", "test-aiohttp"),
}


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


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    sync(session, "--only-group", "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict, one package at a time, then the tests and scripts."""
    sync(session, "--all-packages", "--group", "dev")
    for directory in PACKAGES:
        session.run("mypy", f"packages/{directory}/src", f"packages/{directory}/tests")
    scripts = [
        d
        for d in ("integration_tests", "fuzz_tests", "benchmarks")
        if any((ROOT / d).rglob("*.py"))
    ]
    session.run("mypy", *scripts, "noxfile.py")


@nox.session(python=PYTHON)
def imports(session: nox.Session) -> None:
    """import-linter: common is pure, client and server never import each other."""
    sync(session, "--all-packages", "--group", "dev")
    session.run("lint-imports")


def _tests(directory: str) -> None:
    dist, _, group = PACKAGES[directory]

    @nox.session(name=f"tests-{directory}", python=PYTHON, tags=["tests"])
    def run(session: nox.Session) -> None:
        sync(session, "--package", dist, "--group", group)
        session.run("pytest", f"packages/{directory}/tests", *session.posargs)

    run.__doc__ = f"The {dist} unit tests, with only {dist} and its dependencies installed."


for _directory in PACKAGES:
    _tests(_directory)


@nox.session(python=PYTHON, tags=["tests"])
def integration(session: nox.Session) -> None:
    """Tests that need more than one package: client against server, the CLI end to end;
    and the benchmark's judging of its targets (no benchmark runs here)."""
    sync(session, "--all-packages", "--group", "test-aiohttp")
    # The peer tests need the official implementations: the `interop` session runs them.
    tests = ["integration_tests", "benchmarks/tests"]
    session.run("pytest", *tests, "-m", "not peers", *session.posargs)


@nox.session(python=PYTHON, tags=["tests"])
def fuzz(session: nox.Session) -> None:
    """Hypothesis over every header parser and the metadata codec (only tuskit's own
    errors may escape), then a bounded HTTP fuzzer against a live ``tus serve`` (no
    undocumented 5xx, no hang, the server alive). About 35 s; ``TUSKIT_FUZZ_EXAMPLES``
    sets the HTTP requests (3000)."""
    sync(session, "--all-packages", "--group", "test-aiohttp")
    session.run("pytest", "fuzz_tests", *session.posargs)


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


def install_peers(session: nox.Session) -> Path:
    """The locked workspace plus every peer, for the interop and bench sessions.

    Installs the pinned Python peers into the session after the locked sync, and the npm
    peers with ``npm ci`` into ``<nox cache>/<session>-npm``, whose path it returns (the
    drivers read it from ``TUSKIT_INTEROP_NODE_PREFIX``). Node.js and npm must be on PATH;
    without them the session fails (tusd has no package in the registries the suite uses).
    """
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        session.error(
            f"{' and '.join(missing)} not found on PATH: the {session.name} session runs "
            "@tus/server and tus-js-client under Node.js >= 20.19 (install Node.js with npm)"
        )
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
    return prefix


@nox.session(python=PYTHON)
def interop(session: nox.Session) -> None:
    """tuskit against the official tus clients and servers (tests marked ``peers``).

    The peers are installed by :func:`install_peers`.
    """
    prefix = install_peers(session)
    session.run(
        "pytest",
        "integration_tests",
        "-m",
        "peers",
        *session.posargs,
        env={"TUSKIT_INTEROP_NODE_PREFIX": str(prefix)},
    )


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """The side-by-side benchmark (``python -m benchmarks``; posargs go to it, e.g.
    ``nox -s bench -- --size 64MiB``). Not in the default run: a 1 GiB run takes long.

    Needs curl (installed with apt-get when missing and possible) and the peers, installed
    as for ``interop``.
    """
    prefix = install_peers(session)
    session.run(
        "python",
        "-m",
        "benchmarks",
        *session.posargs,
        env={"TUSKIT_INTEROP_NODE_PREFIX": str(prefix)},
    )


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build every wheel and sdist, install each alone into a fresh venv and import it.

    The client is installed without the server and the reverse, from the built wheels (with
    ``--no-sources``, so they declare the published tuskit-common range), proving each
    distribution stands on its declared dependencies only.
    """
    dist_dir = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist_dir, ignore_errors=True)
    for dist, _, _ in PACKAGES.values():
        session.run(
            UV,
            "build",
            "--package",
            dist,
            "--no-sources",
            "--out-dir",
            str(dist_dir),
            external=True,
        )
    wheels = {p.name.split("-")[0]: p for p in dist_dir.glob("*.whl")}
    sdists = sorted(dist_dir.glob("*.tar.gz"))
    session.log("built %s", ", ".join(sorted(p.name for p in dist_dir.iterdir())))
    if len(wheels) != len(PACKAGES) or len(sdists) != len(PACKAGES):
        session.error(f"expected {len(PACKAGES)} wheels and sdists, got {list(dist_dir.iterdir())}")
    common = str(wheels["tuskit_common"])
    alone = {
        "common": ([common], "tuskit_common", ["aiohttp", "tuskit_client", "tuskit_server"]),
        "client": (
            [common, str(wheels["tuskit_client"])],
            "tuskit_client",
            ["tuskit_server", "tuskit_cli"],
        ),
        "server": (
            [common, str(wheels["tuskit_server"])],
            "tuskit_server",
            ["tuskit_client", "tuskit_cli"],
        ),
        "cli": (
            [
                common,
                str(wheels["tuskit_client"]),
                str(wheels["tuskit_server"]),
                str(wheels["tuskit"]),
            ],
            "tuskit_cli",
            [],
        ),
    }
    for name, (to_install, module, absent) in alone.items():
        venv = Path(session.create_tmp()) / f"venv-{name}"
        shutil.rmtree(venv, ignore_errors=True)
        session.run(UV, "venv", "--quiet", "--python", sys.executable, str(venv), external=True)
        python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
        session.run(UV, "pip", "install", "--quiet", "--python", python, *to_install, external=True)
        check = (
            "import importlib.util, sys\n"
            f"import {module}\n"
            f"print({module}.__name__, {module}.__version__)\n"
            f"present = [m for m in {absent!r} if importlib.util.find_spec(m)]\n"
            "sys.exit(f'unexpectedly installed: {present}' if present else 0)\n"
        )
        session.run(python, "-c", check, external=True)
    for sdist in sdists:
        venv = Path(session.create_tmp()) / "venv-sdist"
        shutil.rmtree(venv, ignore_errors=True)
        session.run(UV, "venv", "--quiet", "--python", sys.executable, str(venv), external=True)
        python = str(venv / "bin" / "python")
        # Each sdist must build into an installable wheel on its own.
        session.run(
            UV,
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--python",
            python,
            str(sdist),
            external=True,
        )
