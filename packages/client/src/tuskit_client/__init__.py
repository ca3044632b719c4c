"""tuskit_client: see the package README for what it holds."""

from tuskit_client._version import __version__

__all__ = ["__version__"]
