"""Where an S3Store upload lives in the bucket, and how big its parts are. Pure: no I/O.

Layout (tusd's s3store): ``<prefix><id>.info`` holds the :class:`~tuskit_common.Resource` as
JSON, one multipart upload holds the bytes received in parts of at least :data:`MIN_PART`,
``<prefix><id>.part`` a tail shorter than that (prepended by the next PATCH), and the
finished upload is ONE ordinary object ``<prefix><id>``. A terminated or expired upload
leaves ``<prefix><id>.gone`` (a tombstone every instance sharing the bucket answers 410 for).
A final upload not built yet marks each of its partials with an empty
``<prefix><partial>.finals/<final id>`` (concatenation-unfinished, shared by every instance).
"""

from dataclasses import dataclass

from tuskit_common import NotFound
from tuskit_server._rules import ID_PATTERN

__all__ = [
    "COPY_LIMIT",
    "MAX_PART",
    "MAX_PARTS",
    "MAX_UPLOAD",
    "MIN_PART",
    "STORAGE_TYPE",
    "Keys",
    "next_part_size",
]

#: S3's smallest part (every part but the last of a multipart upload).
MIN_PART = 5 * 1024 * 1024
#: S3's largest part.
MAX_PART = 5 * 1024**3
#: S3's largest part number.
MAX_PARTS = 10_000
#: S3's largest object (and so the largest upload).
MAX_UPLOAD = 5 * 1024**4
#: S3's largest source range of one UploadPartCopy (a part's largest size).
COPY_LIMIT = MAX_PART
#: The ``Type`` of the Resource's storage mapping (tusd's value, so hooks read the same).
STORAGE_TYPE = "s3store"
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Keys:
    """The object keys of one upload."""

    data: str
    info: str
    part: str
    gone: str
    #: the key prefix of the markers of final uploads waiting for this (partial) upload
    finals: str

    @classmethod
    def of(cls, prefix: str, upload_id: str) -> "Keys":
        """The keys of ``upload_id`` under ``prefix``; ids are re-checked here (security §7).

        Raises:
            NotFound: not a valid upload id.
        """
        if not ID_PATTERN.fullmatch(upload_id):
            raise NotFound("no such upload")
        base = prefix + upload_id
        return cls(
            data=base,
            info=base + ".info",
            part=base + ".part",
            gone=base + ".gone",
            finals=base + ".finals/",
        )


def next_part_size(*, base: int, target: int, offset: int, parts: int) -> int:
    """The size of the next part: ``base``, or more when the bytes still to come up to
    ``target`` (the upload's length, or the largest upload for a deferred length) would
    not fit in the part numbers left. Recomputed before every part, so a part size only
    grows as the upload goes on, and rounded up to whole MiB.

    Raises:
        ValueError: no part number is left.
    """
    left = MAX_PARTS - parts
    if left <= 0:
        raise ValueError(f"the upload already has the most parts S3 allows ({MAX_PARTS})")
    needed = -(-max(target - offset, 0) // left)
    size = max(base, MIN_PART, needed)
    return -(-size // _MIB) * _MIB
