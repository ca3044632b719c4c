"""The peers' own test suites that tuskit must pass, and every test allowed to differ.

Each suite runs twice, unmodified: against the peer library pinned from PyPI, and against
tuskit through the shim packages in ``shims/`` (re-exports only). A test that passes on the
peer must pass on tuskit, unless it is listed here as (a) calling a private helper of the
peer that no user calls, or (b) asserting behaviour that the tus 1.0.0 specification forbids,
with the specification's sentence. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Why(StrEnum):
    """The two reasons a peer test may fail on tuskit."""

    PRIVATE = "private helper"
    SPEC = "forbidden by the spec"


@dataclass(frozen=True)
class Allowed:
    """A test allowed to fail on tuskit, and why (shown in the table)."""

    why: Why
    reason: str


@dataclass(frozen=True)
class Suite:
    """One peer suite: where it lies under ``shared/peer-suites``, how pytest runs it.

    Attributes:
        name: the folder name, also the suite's name in the table.
        peer: the peer library's pinned requirement (the "peer" column installs it).
        tools: the test dependencies, pinned, installed in both columns alike.
        pytest_args: what the suite needs on the pytest command line.
        tusd: the suite starts ``<rootdir>/tusd`` (aiotus's conftest does).
        tls: the suite wants ``tests/selfsigned.crt`` and ``tests/nginx.key`` for nginx.
        allowed: node id → why it may fail on tuskit.
    """

    name: str
    peer: str
    tools: tuple[str, ...]
    pytest_args: tuple[str, ...] = ()
    tusd: bool = False
    tls: bool = False
    allowed: dict[str, Allowed] = field(default_factory=dict)


_TUS_RESUMABLE = (
    '"If the version specified by the Client is not supported by the Server, it MUST respond '
    'with the 412 Precondition Failed status" (Core Protocol, Tus-Resumable): a POST without '
    "Tus-Resumable names no supported version; aiohttp-tus answers 500, tuskit 412"
)
_TUS_EXTENSION = (
    '"The Tus-Extension response header MUST be a comma-separated list of the extensions '
    'supported by the Server", "The Tus-Max-Size response header MUST be a non-negative '
    'integer indicating the allowed maximum size of an entire upload in bytes" and, of '
    'Tus-Resumable on an OPTIONS request, "the Server MUST ignore the header": the test wants '
    "aiohttp-tus's list (its own file-check, not the extensions tuskit supports), a 4 GiB "
    "limit that aiohttp-tus never enforces, and 204 only when Tus-Resumable was sent "
    "(tuskit answers 200 either way)"
)

AIOHTTP_TUS = Suite(
    name="aiohttp-tus",
    peer="aiohttp-tus==1.1.0",
    tools=("pytest==9.2.0", "tus.py==1.3.4"),
    # The suite was written for pytest-aiohttp 0.3, which only loads aiohttp's own plugin
    # (the `loop` and `aiohttp_client` fixtures).
    pytest_args=("-p", "aiohttp.pytest_plugin"),
    allowed={
        "tests/test_data.py": Allowed(
            Why.PRIVATE, "aiohttp_tus.data.get_resource_url / get_upload_url / upload_url_id"
        ),
        "tests/test_utils.py": Allowed(Why.PRIVATE, "aiohttp_tus.utils.parse_upload_metadata"),
        "tests/test_validators.py": Allowed(
            Why.PRIVATE, "aiohttp_tus.validators.check_file_name / validate_upload_metadata"
        ),
        "tests/test_views.py::test_start_upload": Allowed(Why.SPEC, _TUS_RESUMABLE),
        "tests/test_views.py::test_upload_options_204": Allowed(Why.SPEC, _TUS_EXTENSION),
    },
)

AIOTUS = Suite(
    name="aiotus",
    peer="aiotus==1.1.0",
    # aiotus's own pins for its test tools (its pyproject's dev group).
    tools=(
        "pytest==9.2.0",
        "pytest-aiohttp==1.1.1",
        "pytest-asyncio==1.5.0",
        "anyio==4.14.2",
        "tenacity==9.1.4",
    ),
    pytest_args=("-o", "log_cli=false"),
    tusd=True,
    tls=True,
    allowed={
        "tests/test_core.py::TestMetadata::test_parse_metadata": Allowed(
            Why.PRIVATE, "aiotus.core._parse_metadata"
        ),
        "tests/test_retry.py::TestTenacity::test_exception_logging": Allowed(
            Why.PRIVATE, "aiotus.retry._make_log_before_function / _make_log_before_sleep_function"
        ),
        "tests/test_retry.py::TestTenacity::test_result_logging": Allowed(
            Why.PRIVATE, "aiotus.retry._make_log_before_function / _make_log_before_sleep_function"
        ),
    },
)

SUITES: dict[str, Suite] = {suite.name: suite for suite in (AIOHTTP_TUS, AIOTUS)}
