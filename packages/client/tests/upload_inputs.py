"""What the upload tests send: one random payload, an async stream of it, and the type of
the ``make_client`` fixture, shared so that every upload test module uses the same ones."""

import os
from collections.abc import AsyncIterator, Callable

from tuskit_client import Client

DATA = os.urandom(50_000)
MakeClient = Callable[..., Client]


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for index in range(0, len(data), size):
        yield data[index : index + size]
