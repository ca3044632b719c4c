"""The ``aiohttp_tus`` import name over tuskit, for running aiohttp-tus's own suite:
re-exports only."""

from tuskit_server import setup_tus

__all__ = ["setup_tus"]
