"""The package loggers: ``tuskit_server`` (%-style arguments; never metadata or secrets)
and ``tuskit_server.access`` (one line per request, see :mod:`tuskit_server.access_log`)."""

import logging
from typing import Final

logger: Final = logging.getLogger("tuskit_server")
access_logger: Final = logging.getLogger("tuskit_server.access")

#: The request key under which a PATCH or POST records how many upload bytes it stored.
RECEIVED_KEY: Final = "tuskit_server.received"
