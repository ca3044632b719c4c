"""Run one peer suite in one column and read back each test's outcome.

The suite is copied (``shared/`` is read-only and the suites write beside their tests), given
what its fixtures expect to find (a ``tusd`` binary at its root, a self-signed certificate for
nginx), and run by the column's own Python with a JUnit report. For the tuskit column the shim
packages go first on ``PYTHONPATH``; for the peer column they are absent, so the real library
is imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from integration_tests.compat.suites import Suite

SHIMS = Path(__file__).parent / "shims"
#: A whole suite (tusd and nginx start-ups included) takes well under a minute.
SUITE_TIMEOUT = 600.0

Outcomes = dict[str, str]


def prepare(suite: Suite, source: Path, dest: Path, *, tusd: Path | None) -> Path:
    """Copy ``source`` (the unmodified suite) to ``dest`` with what its fixtures expect."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    if suite.tusd:
        if tusd is None:
            raise SystemExit(f"the {suite.name} suite starts tusd: pass --tusd")
        shutil.copy2(tusd, dest / "tusd")
    if suite.tls:
        _self_signed(dest / "tests" / "selfsigned.crt", dest / "tests" / "nginx.key")
    return dest


def _self_signed(cert: Path, key: Path) -> None:
    """A self-signed certificate for localhost, as aiotus's Makefile makes for its nginx."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit("openssl not found on PATH: the TLS tests need a self-signed certificate")
    argv = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    argv += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
    argv += ["-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        argv,
        check=True,
        capture_output=True,
    )


def run(suite: Suite, rootdir: Path, python: str, *, shims: bool, log: Path) -> Outcomes:
    """Run the suite at ``rootdir`` with ``python``; each test's outcome by node id."""
    report = rootdir / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON"))}
    # nginx lives in /usr/sbin, which a non-login PATH may lack.
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/sbin"])
    if shims:
        env["PYTHONPATH"] = str(SHIMS)
    # The suite's own pyproject is its configuration (never a checkout's above it); a module
    # that fails to import fails its tests, not the run.
    argv = [python, "-m", "pytest", "-c", "pyproject.toml", "--rootdir", "."]
    argv += ["-p", "no:cacheprovider", "-q", "-rA", "--continue-on-collection-errors"]
    argv += [*suite.pytest_args, f"--junitxml={report}", "tests"]
    with log.open("w") as out:
        subprocess.run(
            argv, cwd=rootdir, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT
        )
    if not report.exists():
        raise SystemExit(f"{suite.name}: pytest wrote no report; see {log}")
    return read_junit(report.read_text())


def read_junit(xml: str) -> Outcomes:
    """Outcomes from a JUnit report: passed, failed, error or skipped, by pytest node id.

    A module that fails to import appears as one entry named after its file.
    """
    outcomes: Outcomes = {}
    for case in ET.fromstring(xml).iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        outcomes[_node_id(classname, name)] = _outcome(case)
    return outcomes


def _node_id(classname: str, name: str) -> str:
    """``tests.test_x.TestY`` + ``test_z`` → ``tests/test_x.py::TestY::test_z``."""
    if not classname:  # a collection error: name is the dotted module path
        return name.replace(".", "/") + ".py"
    parts = classname.split(".")
    module = next(
        (i for i in range(len(parts), 0, -1) if parts[i - 1].startswith("test")), len(parts)
    )
    path = "/".join(parts[:module]) + ".py"
    return "::".join([path, *parts[module:], name])


def _outcome(case: ET.Element) -> str:
    for tag in ("error", "failure", "skipped"):
        if case.find(tag) is not None:
            return {"failure": "failed"}.get(tag, tag)
    return "passed"
