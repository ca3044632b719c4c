"""The public surface: a curated, sorted ``__all__`` that matches what is importable."""

import ast
from pathlib import Path

import aiohttp

import tuskit_client
from tuskit_client import core, creation

EXPECTED = {
    "DEFAULT_CHUNK_SIZE",
    "DRAFT_VERSIONS",
    "LATEST_DRAFT",
    "PROTOCOLS",
    "CapabilityError",
    "Client",
    "JSONFileStore",
    "MemoryStore",
    "Metadata",
    "ProgressCallback",
    "ProtocolError",
    "ResponseError",
    "RetryConfiguration",
    "SSLArgument",
    "ServerConfiguration",
    "ShouldRetry",
    "SourceError",
    "SourceLike",
    "SourceTruncated",
    "StoredUpload",
    "SyncURLStore",
    "TransportError",
    "TusClientError",
    "URLStore",
    "UploadInfo",
    "UploadNotFound",
    "UploadResult",
    "__version__",
    "core",
    "creation",
    "retry",
    "sync",
    "delete",
    "metadata",
    "upload",
    "upload_multiple",
}


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then everything else."""
    group = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return group, name


def test_all_is_sorted_and_complete() -> None:
    assert tuskit_client.__all__ == sorted(tuskit_client.__all__, key=_isort_key)
    assert set(tuskit_client.__all__) == EXPECTED


def test_every_export_exists_and_public_names_are_exported() -> None:
    for name in tuskit_client.__all__:
        assert hasattr(tuskit_client, name), name
    public = {n for n in vars(tuskit_client) if not n.startswith("_")} - {"log", "exceptions"}
    assert public <= set(tuskit_client.__all__) | {"annotations"}


def test_low_level_modules_match_aiotus() -> None:
    assert sorted(core.__all__) == [
        "ServerConfiguration",
        "configuration",
        "metadata",
        "offset",
        "upload_buffer",
    ]
    assert sorted(creation.__all__) == ["create", "encode_metadata"]


def test_errors_form_one_tree() -> None:
    from tuskit_common import TusError

    for name in ("CapabilityError", "ProtocolError", "ResponseError", "SourceError"):
        assert issubclass(getattr(tuskit_client, name), tuskit_client.TusClientError)
    assert issubclass(tuskit_client.UploadNotFound, tuskit_client.ResponseError)
    # aiotus raises ProtocolError for a wrong status on creation too.
    assert issubclass(tuskit_client.ResponseError, tuskit_client.ProtocolError)
    assert issubclass(tuskit_client.TusClientError, TusError)
    assert issubclass(tuskit_client.SourceError, ValueError)
    assert issubclass(tuskit_client.SourceTruncated, tuskit_client.SourceError)


def test_errors_are_also_aiohttps_for_code_written_against_aiotus() -> None:
    assert issubclass(tuskit_client.ResponseError, aiohttp.ClientResponseError)
    assert issubclass(tuskit_client.TransportError, aiohttp.ClientError)
    assert issubclass(tuskit_client.SourceTruncated, RuntimeError)
    error = tuskit_client.UploadNotFound(
        "HEAD http://h/x answered 404 Not Found",
        status=404,
        headers={"X": "1"},
        method="HEAD",
        url="http://h/x",
    )
    assert (error.status, error.headers, error.message) == (
        404,
        {"X": "1"},
        "HEAD http://h/x answered 404 Not Found",
    )
    assert str(error) == "HEAD http://h/x answered 404 Not Found"
    assert error.request_info.method == "HEAD"
    assert str(error.request_info.real_url) == "http://h/x"
    assert repr(error) == "UploadNotFound('HEAD http://h/x answered 404 Not Found', status=404)"


def _imports(module: str) -> set[str]:
    """Absolute module names imported anywhere in a tuskit_client module's source."""
    path = Path(tuskit_client.__file__).parent / (module.split(".", 1)[1] + ".py")
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_flow_and_retry_are_sans_io() -> None:
    """_flow and _retry, and the client modules they import, use neither aiohttp nor asyncio;
    the one exception is the error tree, whose classes also extend aiohttp's (no I/O)."""
    todo, seen = ["tuskit_client._flow", "tuskit_client._retry"], set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in _imports(module):
            assert not name.startswith("asyncio"), (module, name)
            if module != "tuskit_client.exceptions":
                assert not name.startswith("aiohttp"), (module, name)
            if name.startswith("tuskit_client.") and name.count(".") == 1:
                candidate = Path(tuskit_client.__file__).parent / (name.split(".")[1] + ".py")
                if candidate.exists():
                    todo.append(name)
    assert "tuskit_client.exceptions" in seen
