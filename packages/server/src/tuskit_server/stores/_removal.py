"""Removing an upload's files (termination, expiry) so that it works on a full disk and
means the same before and after a restart.

Order: (1) an empty tombstone ``<id>.gone`` is created, which needs an inode but no data
block; (2) the data file is deleted, which frees the space; (3) the tombstone gets its
stamp, now that there is room (an empty one counts from its modification time); (4) the
info file goes. A crash after (1) leaves a tombstone beside the info file, and start-up
finishes the removal (410 either way). When (2) fails the tombstone is taken back, so the
upload stays as it was, before and after a restart. When not even (1) is possible (no inode
left) the files are removed without a tombstone: the id is then unknown (404), also after
a restart.
"""

import errno
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuskit_common import Gone, NotFound
from tuskit_server.log import logger
from tuskit_server.stores._files import CREATE_NEW, write_all

__all__ = ["forget_tombstones", "remove_files"]

_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})


def remove_files(
    upload_id: str, *, info: Path, data: Path, gone: Path, extra: Path, stamp: bytes
) -> None:
    """Remove an upload (see the module); ``extra`` is another file of it (quarantined
    info). Raises Gone or NotFound when there is nothing to remove, OSError otherwise."""
    if gone.exists():
        raise Gone("the upload was terminated or has expired")
    if not info.exists() and not extra.exists():
        raise NotFound("no such upload")
    try:
        fd: int | None = os.open(gone, CREATE_NEW, 0o644)
    except FileExistsError:
        raise Gone("the upload was terminated or has expired") from None
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            raise
        logger.warning("upload %s: no room for its tombstone; removed without one", upload_id)
        fd = None
    try:
        try:
            data.unlink(missing_ok=True)
        except OSError:
            if fd is not None:
                gone.unlink(missing_ok=True)
            raise
        if fd is not None:
            try:
                write_all(fd, [stamp])
            except OSError as exc:
                logger.warning("upload %s: tombstone left without its stamp: %s", upload_id, exc)
    finally:
        if fd is not None:
            os.close(fd)
    info.unlink(missing_ok=True)
    extra.unlink(missing_ok=True)


def forget_tombstones(root: Path, before: datetime, loads: Callable[[str], Any]) -> int:
    """Remove the tombstones under ``root`` laid before ``before``: by their stamp, or by
    their modification time when they have none (laid on a full disk)."""
    count = 0
    if not root.is_dir():
        return count
    for gone in root.glob("*.gone"):
        try:
            try:
                stamp = datetime.fromisoformat(loads(gone.read_text("utf-8"))["at"])
            except (ValueError, KeyError, TypeError):
                stamp = datetime.fromtimestamp(gone.stat().st_mtime, UTC)
        except OSError:
            continue
        if stamp < before:
            gone.unlink(missing_ok=True)
            count += 1
    return count
