"""The kernel-copy fast path for PATCH bodies: a worker thread has Linux move a large body
from the socket into the store's file (``splice``), instead of the event loop reading it.

Its one entry for the rest of the server is :mod:`.pour` (what a body reader uses); the
other modules are its parts: :mod:`.handover` takes the socket away from aiohttp,
:mod:`.splice` moves the bytes, :mod:`.socket_waiter` waits for data in that thread,
:mod:`.threads` keeps the transfer threads, :mod:`.stop_signal` wakes one that sleeps.
"""
