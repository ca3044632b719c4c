"""What the upload flow asks its driver to do, and the answers it takes back. No I/O.

The flow (``_flow``) is a generator that yields these commands. A driver - the async
``_engine`` or the blocking ``sync`` - carries each one out and sends back its answer (a
:class:`ResponseHead` for :class:`Send`, bytes for :class:`Read`), or throws in the
:class:`~tuskit_client.exceptions.TusClientError` it failed with, so a failure surfaces at
the ``yield`` as it would in straight-line code. The helpers (:func:`send`, :func:`read`,
:func:`sleep`) give each answer its type; :class:`Turns` is the driver's side of the exchange.
"""

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

from yarl import URL

from tuskit_client._progress import Progress
from tuskit_client._results import UploadResult
from tuskit_client._steps import RequestHead, ResponseHead
from tuskit_client.exceptions import TusClientError
from tuskit_common import messages

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Memory:
    """A body already in memory: a chunk read to be checksummed, or a stream's chunk.

    ``offset`` is where it goes in the upload and ``part`` its progress slot, so the sender
    can report the bytes it hands to the connection.
    """

    data: bytes
    offset: int
    part: int = 0
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class Range:
    """Bytes ``[start, end)`` of a seekable source, streamed as they are sent (no buffer of
    the chunk's size): the kernel copies a real file, other sources go piece by piece."""

    start: int
    end: int
    offset: int
    part: int = 0
    progress: Progress | None = None


Body: TypeAlias = Memory | Range


@dataclass(frozen=True, slots=True)
class Send:
    """Send one request; the answer is its :class:`ResponseHead`."""

    head: RequestHead
    body: Body | None = None
    expect100: bool = False


@dataclass(frozen=True, slots=True)
class Read:
    """Read up to ``size`` bytes at ``position`` of the source; the answer is the bytes and
    whether they reach its end. ``exact``: the range must be there (fewer bytes: it shrank)."""

    position: int
    size: int
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before the next attempt."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Remember:
    """Store a new upload's URL (with the source's size) so a later run can resume it."""

    location: URL
    size: int | None


@dataclass(frozen=True, slots=True)
class Forget:
    """Drop the stored entry of this upload: it cannot be resumed, or it is finished."""


@dataclass(frozen=True, slots=True)
class Split:
    """Upload the source as concatenated partial uploads; the answer is the
    :class:`UploadResult`. Only a driver that runs requests concurrently is asked."""


Command: TypeAlias = Send | Read | Sleep | Remember | Forget | Split
Answer: TypeAlias = ResponseHead | tuple[bytes, bool] | UploadResult | None
#: A flow: yields commands, takes their answers, returns its result.
Flow: TypeAlias = Generator[Command, Answer, T]


def send(
    head: RequestHead, body: Body | None = None, *, expect100: bool = False
) -> Flow[ResponseHead]:
    """Send ``head`` (and ``body``); the response head."""
    answer = yield Send(head, body, expect100)
    assert isinstance(answer, messages.ResponseHead)
    return answer


def read(position: int, size: int, *, exact: bool) -> Flow[tuple[bytes, bool]]:
    """Bytes of the source and whether they reach its end."""
    answer = yield Read(position, size, exact)
    assert isinstance(answer, tuple)
    return answer


def sleep(seconds: float) -> Flow[None]:
    """Wait ``seconds``."""
    yield Sleep(seconds)


class Turns(Generic[T]):
    """A flow's commands one at a time, for a driver: iterate, settle each command with
    :meth:`answer` or :meth:`fail` before the next, and read :attr:`result` at the end."""

    def __init__(self, flow: Flow[T]) -> None:
        self._flow = flow
        self._answer: Answer = None
        self._failure: TusClientError | None = None
        self.result: T

    def __iter__(self) -> Iterator[Command]:
        try:
            while True:
                answer, failure = self._answer, self._failure
                self._answer, self._failure = None, None
                try:
                    if failure is None:
                        command = self._flow.send(answer)
                    else:
                        command = self._flow.throw(failure)
                except StopIteration as stop:
                    self.result = stop.value
                    return
                yield command
        finally:
            self._flow.close()

    def answer(self, value: Answer) -> None:
        """What the last command gave."""
        self._answer = value

    def fail(self, error: TusClientError) -> None:
        """How the last command failed; the flow sees it raised at its ``yield``."""
        self._failure = error

    def settle(self, carry_out: Callable[[], Answer]) -> None:
        """Carry out the last command (blocking) and take its answer or its failure."""
        try:
            self._answer = carry_out()
        except TusClientError as error:
            self._failure = error
