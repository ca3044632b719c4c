"""Pure checks of raw request input that sits around the tus rules: content codings,
repeated header lines and the partial list of a final upload.

Sans-IO like :mod:`tuskit_server._rules` (which is full): plain values in, a
:class:`tuskit_common.ProtocolError` or a plain value out.
"""

from collections.abc import Sequence

from tuskit_common import BadRequest, InvalidHeader, UnsupportedMediaType, headers

__all__ = [
    "CONTENT_ENCODING",
    "LIST_HEADERS",
    "SINGLE_HEADERS",
    "check_content_coding",
    "check_partial_list",
    "fold_header",
]

CONTENT_ENCODING = "Content-Encoding"

#: Headers whose value is one item (RFC 9110 §5.3: a recipient must not combine repeated
#: lines of them). Two lines with different values would let a proxy that reads the other
#: line disagree with the server about the upload, so they are refused.
SINGLE_HEADERS = (
    headers.TUS_RESUMABLE,
    headers.UPLOAD_LENGTH,
    headers.UPLOAD_OFFSET,
    headers.UPLOAD_DEFER_LENGTH,
    headers.UPLOAD_CHECKSUM,
    headers.UPLOAD_CONCAT,
    headers.CONTENT_TYPE,
    headers.X_HTTP_METHOD_OVERRIDE,
)
#: Comma-separated list headers: repeated lines are one list, joined with ", " in order
#: (RFC 9110 §5.3).
LIST_HEADERS = (headers.UPLOAD_METADATA, CONTENT_ENCODING)


def check_content_coding(value: str | None) -> None:
    """A tus body is the upload's raw bytes (spec §1.2): any content coding but
    ``identity`` would make the stored bytes and ``Upload-Offset`` differ from what was
    sent, so it is refused with 415 (RFC 9110 §15.5.16)."""
    if value is None:
        return
    codings = [c.strip().lower() for c in value.split(",")]
    if any(c not in ("", "identity") for c in codings):
        raise UnsupportedMediaType(
            f"Content-Encoding {value.strip()!r} is not accepted: send the raw bytes",
            code="content_encoding_refused",
        )


def fold_header(name: str, values: Sequence[str]) -> str:
    """The one value of a header sent on ``values`` lines (two or more).

    Raises:
        InvalidHeader: a single-value header with lines that differ (400).
    """
    if name in LIST_HEADERS:
        return ", ".join(values)
    first = values[0]
    if any(v.strip() != first.strip() for v in values[1:]):
        raise InvalidHeader(f"{name} was sent more than once with different values")
    return first


def check_partial_list(partial_ids: Sequence[str], *, limit: int) -> None:
    """A final upload lists each partial once, and at most ``limit`` of them (§3.8 does
    not forbid repeats, but a repeated partial multiplies stored bytes for free).

    Raises:
        BadRequest: a repeated partial, or too many (400).
    """
    if len(partial_ids) > limit:
        raise BadRequest(
            f"Upload-Concat lists {len(partial_ids)} partial uploads; at most {limit} are allowed",
            code="too_many_partials",
        )
    seen: set[str] = set()
    for partial_id in partial_ids:
        if partial_id in seen:
            raise BadRequest(
                f"Upload-Concat lists partial upload {partial_id} more than once",
                code="repeated_partial",
            )
        seen.add(partial_id)
