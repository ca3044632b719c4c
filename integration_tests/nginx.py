"""nginx from Debian's packages in front of ``tus serve --behind-proxy``, with exactly the
site configuration the deployment guide shows (``examples/deploy/nginx.conf``).

The test fills in only what a machine decides: the two loopback ports and the certificate
paths. The surrounding main configuration is the test's: nginx runs in the foreground with
its pid, logs and temporary folders in the test's own directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from integration_tests.debian import MissingTool, debian_tool

ROOT = Path(__file__).parent.parent
SITE = ROOT / "examples" / "deploy" / "nginx.conf"


def nginx_binary() -> str:
    """nginx's path, installed with ``apt-get install -y nginx`` when missing and running as
    root; else the test fails saying what is missing (never a skip)."""
    try:
        return debian_tool("nginx", "nginx")
    except MissingTool as exc:
        pytest.fail(f"the deployment test runs nginx in front of tus serve: {exc}")


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{SITE.name} no longer holds {old!r} exactly once"
    return text.replace(old, new)


def site_config(*, listen: int, upstream: int, cert: Path, key: Path) -> str:
    """The guide's site configuration with this machine's ports and certificate."""
    text = SITE.read_text()
    text = _replace_once(text, "listen 443 ssl;", f"listen 127.0.0.1:{listen} ssl;")
    text = _replace_once(text, "server 127.0.0.1:1080;", f"server 127.0.0.1:{upstream};")
    text = _replace_once(text, "/etc/letsencrypt/live/uploads.example.com/fullchain.pem", str(cert))
    return _replace_once(text, "/etc/letsencrypt/live/uploads.example.com/privkey.pem", str(key))


def main_config(work: Path, site: Path) -> str:
    """A main configuration around ``site``: foreground, one worker, everything in ``work``."""
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {work / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {work / 'nginx.pid'};\n{user}"
        f"error_log {work / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {work / 'access.log'};\n"
        f"{temp}\n"
        f"    include {site};\n"
        "}\n"
    )


def files_open_in(pids: list[int], folder: Path) -> list[str]:
    """The files under ``folder`` that the processes ``pids`` hold open now. nginx unlinks a
    request body's temporary file as soon as it creates it, so it is only seen this way (its
    link reads ``<folder>/0000000001 (deleted)``)."""
    found = []
    for pid in pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            if target.startswith(f"{folder}/"):
                found.append(target)
    return found


def peak_rss_kib(pid: int) -> int:
    """``VmHWM`` of ``pid``: the most resident memory it ever had, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")
