"""``tus serve`` as an operator runs it: real processes configured by flags, environment and a
TOML file; health, metrics and access-log lines; TLS with a generated certificate; a Unix
socket; and start-up failures that end in one line and the right exit status.

Every server binds port 0 on loopback (or a Unix socket under the test's directory) and is
stopped after the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import trustme

from integration_tests.harness import LOOPBACK

TUS = (sys.executable, "-m", "tuskit_cli")
SERVER = (sys.executable, "-m", "tuskit_server")
WAIT = 60.0
HEADERS = {"Tus-Resumable": "1.0.0"}


@dataclass
class Served:
    url: str
    process: asyncio.subprocess.Process
    stderr: str = ""  # everything the server wrote there, once it stopped


def environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The test's environment without TUSKIT_* settings of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TUSKIT_")}
    return {**env, **(extra or {})}


@asynccontextmanager
async def serving(
    *args: str, command: tuple[str, ...] = (*TUS, "serve"), env: Mapping[str, str] | None = None
) -> AsyncIterator[Served]:
    """Run a server until the block ends (SIGINT); its first stdout line is its URL."""
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(env),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    served = Served("", process)
    try:
        line = await asyncio.wait_for(process.stdout.readline(), WAIT)
        served.url = line.decode().strip()
        if not served.url:
            error = await asyncio.wait_for(process.stderr.read(), WAIT)
            raise AssertionError(f"no URL from {args}: {error.decode()}")
        yield served
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), WAIT)
        except TimeoutError:
            process.kill()
            await process.wait()
        served.stderr = (await process.stderr.read()).decode()


async def run(
    *args: str, command: tuple[str, ...] = TUS, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """Run a command to its end: exit status, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(env),
    )
    out, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def max_size_of(url: str) -> str | None:
    async with aiohttp.ClientSession() as session, session.options(url) as response:
        return response.headers.get("Tus-Max-Size")


async def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "tus.toml"
    config.write_text(f'storage = "{tmp_path / "up"}"\nport = 0\nmax_size = "1kB"\n')
    async with serving("--config", str(config)) as served:
        assert await max_size_of(served.url) == "1000"
    env = {"TUSKIT_CONFIG": str(config), "TUSKIT_MAX_SIZE": "2kB"}
    async with serving(env=env) as served:
        assert await max_size_of(served.url) == "2000"
    async with serving("--max-size", "3kB", env=env) as served:
        assert await max_size_of(served.url) == "3000"
    async with serving("--max-size", "unlimited", env=env) as served:
        assert await max_size_of(served.url) is None


async def test_python_m_tuskit_server_is_the_same_command(tmp_path: Path) -> None:
    code, tus_help, _ = await run("serve", "--help")
    assert code == 0
    code, module_help, _ = await run("--help", command=SERVER)
    assert code == 0
    assert module_help.replace("python -m tuskit_server", "tus serve").split() == tus_help.split()
    args = ("--storage", str(tmp_path), "--port", "0", "--no-download", "--disable", "termination")
    async with serving(*args, command=SERVER) as served, aiohttp.ClientSession() as session:
        assert served.url.startswith(f"http://{LOOPBACK}:")
        assert served.url.endswith("/files/")
        create = {**HEADERS, "Upload-Length": "0"}
        async with session.post(served.url, headers=create) as response:
            assert response.status == 201
            upload = response.headers["Location"]
        async with session.get(upload) as response:
            assert response.status == 405  # no downloads
        async with session.options(served.url) as response:
            assert "termination" not in response.headers["Tus-Extension"]


async def upload_one(url: str, body: bytes) -> str:
    async with aiohttp.ClientSession() as session:
        create = {**HEADERS, "Upload-Length": str(len(body))}
        async with session.post(url, headers=create) as response:
            assert response.status == 201
            upload = response.headers["Location"]
        append = {
            **HEADERS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        }
        async with session.patch(upload, headers=append, data=body) as response:
            assert response.status == 204
    return upload


def root_of(url: str) -> str:
    return url.split("/files/")[0]


async def test_health_metrics_and_access_log_are_on_by_default(tmp_path: Path) -> None:
    async with serving("--storage", str(tmp_path), "--port", "0") as served:
        upload = await upload_one(served.url, b"x" * 1000)
        root = root_of(served.url)
        async with aiohttp.ClientSession() as session:
            async with session.get(root + "/healthz") as response:
                assert (response.status, await response.text()) == (200, "ok\n")
            async with session.get(root + "/readyz") as response:
                assert (response.status, await response.text()) == (200, "ready\n")
            async with session.get(root + "/metrics") as response:
                assert response.status == 200
                metrics = await response.text()
    assert "tuskit_uploads_finished_total 1.0" in metrics
    assert "tuskit_bytes_received_total 1000.0" in metrics
    assert 'tuskit_requests_total{method="PATCH",status="204"} 1.0' in metrics
    [connections] = [x for x in metrics.splitlines() if x.startswith("tuskit_connections_open ")]
    assert float(connections.split()[1]) >= 1  # at least the scrape's own
    upload_id = upload.rsplit("/", 1)[1]
    lines = served.stderr.splitlines()
    [patched] = [line for line in lines if " PATCH " in line]
    assert f" PATCH /files/{upload_id} 204 id={upload_id} in=1000 " in patched
    assert any(" GET /healthz 200 " in line for line in lines)


async def test_operator_endpoints_can_move_or_go(tmp_path: Path) -> None:
    args = ["--storage", str(tmp_path), "--port", "0", "--no-metrics", "--log-format", "json"]
    args += ["--healthz-path", "/live", "--readyz-path", "/ready"]
    async with serving(*args) as served, aiohttp.ClientSession() as session:
        root = root_of(served.url)
        for path, status in (("/live", 200), ("/ready", 200), ("/healthz", 404), ("/metrics", 404)):
            async with session.get(root + path) as response:
                assert response.status == status, path
    entries = [json.loads(line) for line in served.stderr.splitlines() if line.startswith("{")]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/live", 200),
        ("GET", "/ready", 200),
        ("GET", "/healthz", 404),
        ("GET", "/metrics", 404),
    ]
    async with serving("--storage", str(tmp_path), "--port", "0", "--no-access-log") as quiet:
        await upload_one(quiet.url, b"y")
    assert "PATCH" not in quiet.stderr


async def test_proxy_headers_and_metadata_limit(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Host": "uploads.example.com", "X-Forwarded-Proto": "https"}
    create = {**HEADERS, "Upload-Length": "1", **forwarded}
    metadata = {"Upload-Metadata": ",".join(f"key{i} eA==" for i in range(20))}  # 180 bytes
    args = ("--storage", str(tmp_path), "--port", "0")
    limited = ("--behind-proxy", "--metadata-limit", "64")
    async with serving(*args, *limited) as served, aiohttp.ClientSession() as session:
        async with session.post(served.url, headers=create) as response:
            assert response.status == 201
            assert response.headers["Location"].startswith("https://uploads.example.com/files/")
        async with session.post(served.url, headers={**create, **metadata}) as response:
            assert response.status == 400
    async with (
        serving(*args) as served,
        aiohttp.ClientSession() as session,
        session.post(served.url, headers={**create, **metadata}) as response,
    ):
        assert response.status == 201
        assert response.headers["Location"].startswith(served.url)  # forwarding ignored


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("error: ")
    return line


async def test_a_storage_that_cannot_be_used_exits_1(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = await run("serve", "--storage", str(blocker / "up"), "--port", "0")
    assert (code, out) == (1, "")
    assert "cannot be used: Not a directory" in one_error_line(err)
    code, out, err = await run("serve", "--storage", "/proc", "--port", "0")  # read-only
    assert (code, out) == (1, "")
    assert one_error_line(err).startswith("error: storage /proc cannot be used: ")
    code, _, err = await run("serve", "--storage", "/proc", "--port", "0", "--verbose")
    assert code == 1
    assert "Traceback" in err  # --verbose shows where it failed


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_a_port_in_use_exits_1_with_a_hint(tmp_path: Path, workers: str) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        args = ("serve", "--storage", str(tmp_path), "--port", port, "--workers", workers)
        code, out, err = await run(*args)
    assert (code, out) == (1, "")
    line = one_error_line(err)
    assert f"{LOOPBACK}:{port} is already in use" in line
    assert "--port 0" in line


async def test_a_bad_certificate_exits_1(tmp_path: Path) -> None:
    junk = tmp_path / "cert.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
    args = ("--storage", str(tmp_path), "--tls-cert", str(junk))
    for command, argv in ((TUS, ("serve", *args)), (SERVER, args)):
        code, out, err = await run(*argv, command=command)
        assert (code, out) == (1, "")
        assert f"error: TLS certificate {junk} cannot be used: " in one_error_line(err)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--max-size", "2 gigs"], {}, "error: --max-size: expected a size like 8MiB"),
        ([], {"TUSKIT_PORT": "http"}, "error: TUSKIT_PORT: 'http' is not valid: Input should be"),
        (["--disable", "uploads"], {}, "error: --disable: 'uploads' is not one of creation"),
        (["--prot", "1"], {}, "tus serve: error: unrecognized arguments: --prot 1"),
    ],
)
async def test_a_bad_value_exits_2_naming_the_option(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    code, out, err = await run("serve", "--storage", str(tmp_path), *args, env=env)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith(expected)


async def test_a_typo_in_the_config_file_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "tus.toml"
    config.write_text("prot = 8080\n")
    code, _, err = await run("serve", "--config", str(config))
    assert code == 2
    assert f"error: {config}: unknown key 'prot'" in err
    code, _, err = await run("--config", str(config), command=SERVER)
    assert code == 2
    assert f"error: {config}: unknown key 'prot'" in err


async def test_https_with_a_generated_certificate(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert(LOOPBACK)
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    source = tmp_path / "report.bin"
    source.write_bytes(os.urandom(300_000))
    args = ("--storage", str(tmp_path / "up"), "--port", "0")
    async with serving(*args, "--tls-cert", str(cert), "--tls-key", str(key)) as served:
        assert served.url.startswith(f"https://{LOOPBACK}:")
        trusted = {"SSL_CERT_FILE": str(ca)}  # how a user points the tus client at a CA
        code, out, err = await run("upload", "--retries", "0", served.url, str(source), env=trusted)
        assert code == 0, err
        assert out.strip().startswith(served.url)
        code, _, err = await run("upload", "--retries", "0", served.url, str(source))
        assert code == 1  # an untrusted certificate is refused
        assert "certificate" in err.lower()
        context = ssl.create_default_context(cafile=str(ca))
        connector = aiohttp.TCPConnector(ssl=context)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(out.strip()) as response,
        ):
            assert await response.read() == source.read_bytes()


async def test_a_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "tus.sock"
    async with serving("--storage", str(tmp_path / "up"), "--unix-socket", str(path)) as served:
        assert served.url.startswith("http+unix://")
        assert served.url.endswith("/files/")
        connector = aiohttp.UnixConnector(path=str(path))
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get("http://tus/readyz") as response:
                assert response.status == 200
            create = {**HEADERS, "Upload-Length": "3"}
            async with session.post("http://tus/files/", headers=create) as response:
                assert response.status == 201
            async with session.options("http://tus/files/") as response:
                assert response.headers["Tus-Version"] == "1.0.0"
    code, _, err = await run("serve", "--unix-socket", str(path), "--workers", "2")
    assert code == 2
    assert "--unix-socket needs --workers 1" in err
    nowhere = tmp_path / "missing" / "tus.sock"
    code, _, err = await run("serve", "--storage", str(tmp_path), "--unix-socket", str(nowhere))
    assert code == 1
    assert one_error_line(err) == f"error: cannot serve on {nowhere}: No such file or directory"


async def test_workers_count_their_metrics_together(tmp_path: Path) -> None:
    args = ("--storage", str(tmp_path), "--port", "0", "--workers", "2")
    async with serving(*args) as served:
        connector = aiohttp.TCPConnector(force_close=True)  # new connections: either worker
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(8):
                async with session.post(
                    served.url, headers={**HEADERS, "Upload-Length": "0"}
                ) as response:
                    assert response.status == 201
            for _ in range(4):  # whichever worker answers, it reports the sum of both
                async with session.get(root_of(served.url) + "/metrics") as response:
                    text = await response.text()
                assert "tuskit_uploads_created_total 8.0" in text
                assert "tuskit_uploads_finished_total 8.0" in text
                assert 'tuskit_requests_total{method="POST",status="201"} 8.0' in text
    posts = [line for line in served.stderr.splitlines() if " POST /files/ 201 " in line]
    assert len(posts) == 8  # every worker's lines were written before it stopped
