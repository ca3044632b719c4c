"""``aiohttp_tus.annotations`` over tuskit: re-exports only."""

from tuskit_server import Decorator, Handler

__all__ = ["Decorator", "Handler"]
