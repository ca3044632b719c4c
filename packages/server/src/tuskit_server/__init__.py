"""tuskit_server: see the package README for what it holds."""

from tuskit_server._version import __version__

__all__ = ["__version__"]
