"""Issue 21 against a real ``tus serve`` process, the storage: unusable storage folders, the
``--workers`` lock file, and termination on a full disk (a small tmpfs when the test may
mount one, else a server whose store cannot write a byte).

Every server binds port 0 on loopback (see :func:`integration_tests.test_cli_e2e.tus_serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from integration_tests.processes import process_tree
from integration_tests.test_cli_e2e import TUS, WAIT, tus_serve
from integration_tests.tus_requests import HEADERS, OCTET, MiB, create, data_file, head


def _serve_once(storage: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TUS, "serve", "--port", "0", "--storage", str(storage)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def _mount(folder: Path, options: str) -> bool:
    """Mount a tmpfs on ``folder``; False when this process may not (or has no mount)."""
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return mounted.returncode == 0


@contextlib.contextmanager
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write into: permissions for a normal user, a read-only tmpfs
    for root (whom permissions do not stop); a path below a file when neither works."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if not _mount(folder, "ro,size=1m"):
        (tmp_path / "file").write_bytes(b"")
        yield tmp_path / "file" / "below"
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_unusable_storage_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    with read_only_folder(tmp_path) as read_only:
        for storage in (read_only, tmp_path / "a-file" / "uploads"):
            result = _serve_once(storage)
            assert result.returncode == 1, result
            assert result.stdout == ""  # no URL: the port never opened
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert "storage" in result.stderr
            assert "cannot be used" in result.stderr
            assert "Traceback" not in result.stderr


def _open_lock_files(pid: int) -> set[str]:
    """The lock files the processes of the server ``pid`` hold open (Linux ``/proc``)."""
    found = set()
    for process in process_tree(pid):
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{process}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if "tuskit" in target and "lock" in target:
                        found.add(target)
    return found


async def test_workers_keep_their_lock_file_in_the_storage_folder(tmp_path: Path) -> None:
    storage = tmp_path / "uploads"
    async with (
        tus_serve(storage, "--workers", "2") as (endpoint, server),
        aiohttp.ClientSession() as session,
    ):
        for _ in range(4):  # a HEAD takes the lock: the lock file is opened on first use
            url = await create(session, endpoint, 1)
            assert (await head(session, url)).status == 200
        # not a temporary file that a SIGKILLed supervisor would leave behind
        assert _open_lock_files(server.pid) == {str(storage / ".tuskit.locks")}
        server.kill()  # the supervisor, SIGKILLed
        await server.wait()
    await asyncio.sleep(1)  # the workers notice their supervisor is gone
    async with (
        tus_serve(storage, "--workers", "2") as (endpoint, _),
        aiohttp.ClientSession() as session,
    ):
        url = await create(session, endpoint, 1)
        assert (await head(session, url)).status == 200


#: A ``tus serve`` whose file store cannot write one more byte into its tombstones or
#: data (ENOSPC), for machines where the test cannot mount a small file system.
_FULL_DISK_SERVER = """
import errno, sys
from tuskit_server.stores import _removal

def full(fd, pieces):
    raise OSError(errno.ENOSPC, "No space left on device")

_removal.write_all = full
from tuskit_cli.main import app
app(prog_name="tus", args=sys.argv[1:])
"""


@contextlib.contextmanager
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A 4 MiB tmpfs, or None when this process may not mount one."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not _mount(folder, "size=4m"):
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


async def test_termination_frees_space_on_a_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path) as disk:
        storage = disk / "uploads" if disk is not None else tmp_path / "uploads"
        command = (sys.executable, "-c", _FULL_DISK_SERVER) if disk is None else TUS
        for restart in (False, True):
            async with (
                tus_serve(storage, command=command) as (endpoint, _),
                aiohttp.ClientSession() as session,
            ):
                if not restart:
                    url = await create(session, endpoint, 2 * MiB)
                    async with session.patch(
                        url,
                        headers={**HEADERS, "Content-Type": OCTET, "Upload-Offset": "0"},
                        data=io.BytesIO(os.urandom(2 * MiB)),
                    ) as response:
                        assert response.status == 204
                    if disk is not None:
                        filler = disk / "filler"
                        with contextlib.suppress(OSError), filler.open("wb") as out:
                            while True:
                                out.write(b"\0" * 65536)
                        assert os.statvfs(disk).f_bavail == 0  # full
                    async with session.delete(url, headers=HEADERS) as response:
                        assert response.status == 204, await response.text()
                    assert not data_file(storage, url).exists()
                    if disk is not None:
                        assert os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize >= MiB
                    upload_id = url.rsplit("/", 1)[1]
                # the same answer from the server that terminated it and after a restart
                assert (await head(session, endpoint + upload_id)).status == 410
