"""The package logger, ``tuskit_server`` (%-style arguments; never metadata or secrets)."""

import logging
from typing import Final

logger: Final = logging.getLogger("tuskit_server")
