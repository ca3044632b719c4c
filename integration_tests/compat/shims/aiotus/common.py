"""``aiotus.common`` over tuskit: re-exports only."""

from tuskit_client import Metadata, ProtocolError, SSLArgument
from tuskit_common.headers import PROTOCOL_VERSION as TUS_PROTOCOL_VERSION

__all__ = ["TUS_PROTOCOL_VERSION", "Metadata", "ProtocolError", "SSLArgument"]
