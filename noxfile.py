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
import zipfile
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
    "compat",
    "minimums",
    "build",
    "docs",
]

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT))  # the helpers below, and integration_tests for compat

from nox_support.peers import install_peers, tusd_binary  # noqa: E402
from nox_support.tools import UV, debian_tool, fresh_venv, sync  # noqa: E402

#: Sessions run on the interpreter that runs nox (the project needs >= 3.11).
PYTHON: str | None = None


PACKAGES = {
    "common": ("tuskit-common", "tuskit_common", "test"),
    "client": ("tuskit-client", "tuskit_client", "test-aiohttp"),
    "server": ("tuskit-server", "tuskit_server", "test-aiohttp"),
    "cli": ("tuskit", "tuskit_cli", "test-aiohttp"),
}


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
        for d in (
            "integration_tests",
            "fuzz_tests",
            "benchmarks",
            "examples",
            "docs/_hooks",
            "nox_support",
        )
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
    # The Redis locker and scale-out tests start a real redis-server (moto's S3 server comes
    # with the test group); installing it here fails early, before any test, when it cannot.
    debian_tool(session, "redis-server", "redis-server")
    # The peer tests need the official implementations: the `interop` session runs them.
    tests = ["integration_tests", "benchmarks/tests", "examples"]
    session.run("pytest", *tests, "-m", "not peers", *session.posargs)


@nox.session(python=PYTHON, tags=["tests"])
def fuzz(session: nox.Session) -> None:
    """Hypothesis over every header parser and the metadata codec (only tuskit's own
    errors may escape), then a bounded HTTP fuzzer against a live ``tus serve`` (no
    undocumented 5xx, no hang, the server alive). About 35 s; ``TUSKIT_FUZZ_EXAMPLES``
    sets the HTTP requests (3000)."""
    sync(session, "--all-packages", "--group", "test-aiohttp")
    session.run("pytest", "fuzz_tests", *session.posargs)


@nox.session(python=PYTHON)
def interop(session: nox.Session) -> None:
    """tuskit against the official tus clients and servers, tusd included (tests marked
    ``peers``).

    The peers are installed, and tusd built, by :func:`install_peers`.
    """
    env = install_peers(session)
    debian_tool(session, "redis-server", "redis-server")  # the scale-out interop test's Redis
    session.run("pytest", "integration_tests", "-m", "peers", *session.posargs, env=env)


@nox.session(python=PYTHON)
def compat(session: nox.Session) -> None:
    """aiohttp-tus's and aiotus's own test suites against the peer and against tuskit.

    Each suite (``../shared/peer-suites``) runs unmodified in two environments of its own:
    the peer pinned from PyPI, and the locked tuskit distributions under the peer's import
    name through ``integration_tests/compat/shims``; test tools are pinned alike in both
    columns, the shared dependencies (aiohttp, yarl, ...) constrained to ``uv.lock``. tusd is
    built with Go and nginx installed from Debian's packages for aiotus's suite.
    """
    from integration_tests.compat.suites import SUITES

    sync(session, "--no-install-workspace")
    tusd = tusd_binary(session)
    debian_tool(session, "nginx", "nginx")
    debian_tool(session, "openssl", "openssl")
    tmp = Path(session.create_tmp()).resolve()
    locked = tmp / "locked.txt"
    session.run(
        UV,
        "export",
        "--frozen",
        "--all-packages",
        "--no-default-groups",
        "--no-hashes",
        "--quiet",
        "--output-file",
        str(locked),
        external=True,
    )
    # tuskit's column installs the distributions (not editable); the peers get the same
    # versions of what they share with tuskit, without tuskit.
    lines = locked.read_text().splitlines()
    locked.write_text("\n".join(line.replace("-e ./", f"{ROOT}/") for line in lines))
    constraints = tmp / "constraints.txt"
    constraints.write_text("\n".join(line for line in lines if not line.startswith("-e ")))
    pythons = []
    for name, suite in SUITES.items():
        for column in ("peer", "tuskit"):
            python = fresh_venv(session, f"compat-{name}-{column}")
            what = [suite.peer] if column == "peer" else ["-r", str(locked)]
            session.run(
                UV,
                "pip",
                "install",
                "--quiet",
                "--python",
                python,
                "--constraint",
                str(constraints),
                *suite.tools,
                *what,
                external=True,
            )
            pythons += ["--python", f"{name}:{column}={python}"]
    session.run(
        "python",
        "-m",
        "integration_tests.compat",
        "--work",
        str(tmp / "suites"),
        "--tusd",
        str(tusd),
        "--table",
        str(tmp / "compat-table.md"),
        *pythons,
        *session.posargs,
    )


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site: ``mkdocs build --strict`` (MkDocs, Material, mkdocstrings).

    A broken link, a missing anchor or page, an unresolved API reference or a snippet file
    that is gone fails the run. The ``tus`` command reference is rendered from the Typer app
    and ``tuskit_server.settings.OPTIONS`` by ``docs/_hooks/cli_reference.py`` at build time.
    Needs no network; the site goes to the session's temp folder.
    """
    sync(session, "--all-packages", "--group", "docs")
    site = Path(session.create_tmp()).resolve() / "site"
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(site),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """The side-by-side benchmark (``python -m benchmarks``; posargs go to it, e.g.
    ``nox -s bench -- --size 64MiB``). Not in the default run: a 1 GiB run takes long.

    Needs curl (installed with apt-get when missing and possible) and the peers, installed
    (and tusd built) as for ``interop``; ``--store s3`` also needs redis-server (two
    ``tus serve`` instances share one).
    """
    env = install_peers(session)
    debian_tool(session, "redis-server", "redis-server")
    session.run("python", "-m", "benchmarks", *session.posargs, env=env)


@nox.session(python=PYTHON)
def minimums(session: nox.Session) -> None:
    """Every package's tests against the lowest versions its pyproject allows.

    ``uv pip install --resolution lowest-direct`` takes the floor of each declared range (the
    test tools' too), and the newest of everything only pulled in, as a user who pins old
    versions gets; a floor that does not work fails here.
    """
    session.run_install(
        UV,
        "pip",
        "install",
        "--quiet",
        "--python",
        session.virtualenv.location,
        "--resolution",
        "lowest-direct",
        *(arg for directory in PACKAGES for arg in ("-e", f"packages/{directory}")),
        "--group",
        "test-aiohttp",
        external=True,
    )
    # aiohttp 3.11.0 now and then leaves a closed connection's transport to the garbage
    # collector, whose ResourceWarning then fails whichever test is running; the locked run
    # (tests-*) keeps treating such warnings as errors.
    for directory in PACKAGES:
        session.run(
            "pytest",
            f"packages/{directory}/tests",
            "-W",
            "ignore::pytest.PytestUnraisableExceptionWarning",
            *session.posargs,
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
    # Every wheel carries the repository's MIT licence (each package keeps a copy to ship).
    licence = (ROOT / "LICENSE").read_bytes()
    for wheel in wheels.values():
        with zipfile.ZipFile(wheel) as archive:
            shipped = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            if not shipped or archive.read(shipped[0]) != licence:
                session.error(f"{wheel.name} does not ship the repository's LICENSE")
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
