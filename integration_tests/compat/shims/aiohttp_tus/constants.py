"""``aiohttp_tus.constants`` over tuskit: re-exports only."""

from tuskit_server import TUS_CONFIG_KEY as APP_TUS_CONFIG_KEY

__all__ = ["APP_TUS_CONFIG_KEY"]
