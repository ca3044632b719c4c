"""The scale-out example (``examples/scaleout/``), run as its comments say: two ``tus serve
--config tus.toml`` instances sharing one bucket (moto's S3 server here) and one
redis-server, nginx with ``nginx.conf`` spreading requests over them. The test fills in only
what a machine decides (ports, the bucket name); an upload through nginx reaches both
instances and ends as one object identical to the source."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import aiohttp

from integration_tests.harness import LOOPBACK, HttpProbe, free_port, running_server, sha256_file
from integration_tests.nginx import main_config, nginx_binary
from integration_tests.redis_server import running_redis
from integration_tests.s3 import moto_s3_server
from integration_tests.scaleout import object_sha256, server_environment, sha256_of_get
from tuskit_client import Client

EXAMPLE = Path(__file__).parent / "scaleout"
MIB = 1 << 20


def _filled(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert text.count(old) == 1, f"the example no longer holds {old!r} exactly once"
        text = text.replace(old, new)
    return text


@contextmanager
def _nginx(work: Path, site: str, listen: int) -> Iterator[None]:
    (work / "site.conf").write_text(site)
    (work / "nginx.conf").write_text(main_config(work, work / "site.conf"))
    argv = [nginx_binary(), "-p", str(work), "-e", str(work / "error.log")]
    process = subprocess.Popen([*argv, "-c", str(work / "nginx.conf")])
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, (work / "error.log").read_text()
            try:
                socket.create_connection((LOOPBACK, listen), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx is not listening"
                time.sleep(0.05)
        yield
    finally:
        process.send_signal(signal.SIGQUIT)
        process.wait(30)


async def test_two_instances_behind_nginx(tmp_path: Path) -> None:
    source = tmp_path / "video.bin"
    source.write_bytes(os.urandom(24 * MIB))
    with ExitStack() as stack:
        moto = stack.enter_context(moto_s3_server(tmp_path / "moto"))
        redis = stack.enter_context(running_redis(tmp_path / "redis"))
        bucket = moto.new_bucket()
        config = tmp_path / "tus.toml"
        config.write_text(
            _filled(
                (EXAMPLE / "tus.toml").read_text(),
                {
                    '"s3://tus-uploads/uploads"': f'"s3://{bucket}/uploads"',
                    '"http://127.0.0.1:9000"': f'"{moto.url}"',
                    '"redis://127.0.0.1:6379/0"': f'"{redis.url}"',
                },
            )
        )
        ports = [free_port(), free_port()]
        instances = []
        for port in ports:
            tus = [sys.executable, "-m", "tuskit_cli"]  # the `tus` command
            argv = [*tus, "serve", "--config", str(config), "--port", str(port)]
            ready = HttpProbe(f"http://{LOOPBACK}:{port}/files/")
            instances.append(
                stack.enter_context(
                    running_server(
                        argv, ready=ready, log_dir=tmp_path / str(port), env=server_environment()
                    )
                )
            )
        listen = free_port()
        site = _filled(
            (EXAMPLE / "nginx.conf").read_text(),
            {
                "listen 80;": f"listen {LOOPBACK}:{listen};",
                "server 127.0.0.1:1081;": f"server {LOOPBACK}:{ports[0]};",
                "server 127.0.0.1:1082;": f"server {LOOPBACK}:{ports[1]};",
            },
        )
        work = tmp_path / "nginx"
        work.mkdir()
        stack.enter_context(_nginx(work, site, listen))
        public = f"http://{LOOPBACK}:{listen}/files/"
        async with Client(public, chunk_size=8 * MIB) as client:
            result = await client.upload(source)
        assert str(result.url).startswith(public)
        async with aiohttp.ClientSession() as session:
            assert await sha256_of_get(session, str(result.url)) == sha256_file(source)
            async with session.get(f"http://{LOOPBACK}:{listen}/readyz") as ready_answer:
                assert ready_answer.status == 200
        for instance in instances:  # the access log of each instance shows PATCHes
            assert "PATCH" in instance.server.stderr_path.read_text()
        key = "uploads/" + str(result.url).rsplit("/", 1)[-1]
        stored = await asyncio.to_thread(object_sha256, moto, bucket, key)
        assert stored == sha256_file(source)
