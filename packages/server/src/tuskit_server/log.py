"""The package loggers: ``tuskit_server`` (%-style arguments; never metadata or secrets)
and ``tuskit_server.access`` (one line per request, see :mod:`tuskit_server.access_log`)."""

import logging
from typing import Final

logger: Final = logging.getLogger("tuskit_server")
access_logger: Final = logging.getLogger("tuskit_server.access")
