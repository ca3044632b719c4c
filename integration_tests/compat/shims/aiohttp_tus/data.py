"""``aiohttp_tus.data`` over tuskit: re-exports only."""

from tuskit_server import OnUploadDone as ResourceCallback
from tuskit_server import Resource
from tuskit_server import TusConfig as Config

__all__ = ["Config", "Resource", "ResourceCallback"]
