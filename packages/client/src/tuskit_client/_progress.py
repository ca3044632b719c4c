"""Progress of one upload, and where a tus upload's bytes sit in the source. No I/O.

The flow reports acknowledged offsets and a length that became known; the body senders
report bytes handed to the connection. Both sides call the same :class:`Progress`.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # _types reaches aiohttp for the ssl argument's type; no I/O here
    from tuskit_client._types import ProgressCallback


class Progress:
    """Sums sent / acknowledged bytes over the parts of one upload and reports them.

    ``sent`` never goes backwards, even when a chunk is re-sent after a failure. ``sent`` is
    reported from inside a body writer, where an exception would look like a network
    failure and be retried; so a callback's error is kept and re-raised by :meth:`check`.
    """

    def __init__(self, callback: "ProgressCallback | None", total: int | None) -> None:
        self.callback = callback
        self.total = total
        self.error: Exception | None = None
        self._sent: dict[int, int] = {}
        self._acked: dict[int, int] = {}

    def check(self) -> None:
        """Raise the callback's error, if it failed while bytes were being sent."""
        if self.error is not None:
            raise self.error

    def _report(self) -> None:
        if self.callback is not None:
            sent = sum(self._sent.values())
            acked = sum(self._acked.values())
            self.callback(max(sent, acked), acked, self.total)

    def known(self, length: int | None) -> None:
        """A deferred length became known (single uploads only)."""
        if self.total is None and length is not None:
            self.total = length
            self._report()

    def sent(self, part: int, value: int) -> None:
        if value > self._sent.get(part, 0) and self.error is None:
            self._sent[part] = value
            try:
                self._report()
            except Exception as exc:
                self.error = exc

    def acknowledged(self, part: int, value: int) -> None:
        if value != self._acked.get(part):
            self._acked[part] = value
            self._report()


@dataclass(frozen=True, slots=True)
class Span:
    """Where one tus upload's bytes start in the source, and which progress slot it uses."""

    start: int = 0
    part: int = 0
