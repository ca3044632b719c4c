"""What :class:`FileStore` does with an info file it cannot read (empty, truncated, ``{}``,
binary: a crash mid-write or a bad disk).

The bytes are what matters: while the data file exists, its size is the offset (digest
§4.1), so the upload is recovered as one of deferred length (the client declares the length
again with its next PATCH; the metadata is lost) and the unreadable file is kept beside it
as ``<id>.info.bad`` for the operator. Without a data file nothing can be recovered: the
info file is quarantined (renamed to ``<id>.info.bad``) and the id is unknown from then
on. Either way the condition is logged once, since the unreadable file is gone after.

An info file younger than :data:`GRACE` seconds is left alone and reads as no upload: a new
upload's info file is written in place, so another thread or worker may be reading it half
written, and such an upload was never acknowledged to its client.
"""

import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tuskit_common import NotFound, Resource
from tuskit_server.log import logger

__all__ = ["BAD_SUFFIX", "GRACE", "RECOVERED", "decode_info", "salvage"]

#: Seconds an unreadable info file is given to be a new one still being written.
GRACE = 10.0
#: The suffix of a quarantined info file.
BAD_SUFFIX = ".info.bad"
#: The ``storage`` key marking a recovered upload.
RECOVERED = "recovered_from_unreadable_info"


def decode_info(raw: bytes, upload_id: str, loads: Callable[[str], Any]) -> Resource | None:
    """The upload an info file holds, or None when it cannot be read as this upload's."""
    try:
        resource = Resource.model_validate(loads(raw.decode("utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return resource if resource.id == upload_id else None


def salvage(
    info: Path,
    data: Path,
    upload_id: str,
    *,
    write_info: Callable[[Resource], None],
    expire_after: timedelta | None,
) -> Resource:
    """Recover or quarantine the upload behind the unreadable ``info`` (see the module).

    Raises:
        NotFound: nothing to recover (quarantined), or the file may still be being written.
    """
    try:
        if time.time() - os.stat(info).st_mtime < GRACE:
            raise NotFound("no such upload")
        data_stat = os.stat(data)
    except FileNotFoundError:
        if info.exists():
            os.replace(info, info.with_name(upload_id + BAD_SUFFIX))
            logger.warning(
                "upload %s: unreadable info file and no data file; quarantined as %s%s",
                upload_id,
                upload_id,
                BAD_SUFFIX,
            )
        raise NotFound("no such upload") from None
    shutil.copyfile(info, info.with_name(upload_id + BAD_SUFFIX))
    last_write = datetime.fromtimestamp(data_stat.st_mtime, UTC).replace(microsecond=0)
    resource = Resource(
        id=upload_id,
        length=None,
        offset=data_stat.st_size,
        created_at=last_write,
        expires_at=None if expire_after is None else last_write + expire_after,
        storage={RECOVERED: True},
    )
    write_info(resource)
    logger.warning(
        "upload %s: unreadable info file; recovered its %d bytes as an upload of deferred "
        "length (metadata lost), the old file kept as %s%s",
        upload_id,
        data_stat.st_size,
        upload_id,
        BAD_SUFFIX,
    )
    return resource
