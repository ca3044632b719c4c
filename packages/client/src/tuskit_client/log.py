"""The package logger, ``tuskit_client`` (aiotus logs on ``aiotus``).

Messages use %-style arguments and carry upload URLs, offsets and byte counts only: never
metadata values, request headers (``Authorization``) or content. The library installs no
handler; applications configure logging.
"""

import logging
from typing import Final

logger: Final = logging.getLogger("tuskit_client")
