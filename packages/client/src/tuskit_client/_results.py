"""What the raising API returns: immutable results. No I/O."""

from dataclasses import dataclass, field
from datetime import datetime

from yarl import URL


@dataclass(frozen=True, slots=True)
class UploadResult:
    """A finished upload.

    Attributes:
        url: the upload URL (for a parallel upload, the final concatenated one).
        offset: bytes on the server, equal to ``length`` on success.
        length: the upload's size.
        expires: the last ``Upload-Expires`` seen, if the server uses expiration.
        parts: the partial uploads a parallel upload was made of, in order.
        resumed: True when an existing upload was continued instead of a new one created.
    """

    url: URL
    offset: int
    length: int | None
    expires: datetime | None = None
    parts: tuple[URL, ...] = ()
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """What a HEAD says about an upload: its state, expiry and decoded metadata."""

    url: URL
    offset: int
    length: int | None
    expires: datetime | None = None
    metadata: dict[str, bytes | None] = field(default_factory=dict)
    concat: str | None = None

    @property
    def is_complete(self) -> bool:
        return self.length is not None and self.offset == self.length
