"""tuskit_cli: see the package README for what it holds."""

from tuskit_cli._version import __version__

__all__ = ["__version__"]
