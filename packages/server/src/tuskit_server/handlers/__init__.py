"""One thin adapter per HTTP method; the checks live in :mod:`tuskit_server._rules`."""

from tuskit_server.handlers.delete import delete
from tuskit_server.handlers.get import get
from tuskit_server.handlers.head import head
from tuskit_server.handlers.options import options
from tuskit_server.handlers.patch import patch
from tuskit_server.handlers.post import post

__all__ = ["delete", "get", "head", "options", "patch", "post"]
