"""The ``aiotus`` import name over tuskit, for running aiotus's own suite: re-exports only.

The submodules are tuskit's own module objects (not copies), so a test that patches
``aiotus.retry.metadata`` patches what tuskit calls.
"""

import sys

from tuskit_client import (
    Metadata,
    ProtocolError,
    RetryConfiguration,
    SSLArgument,
    core,
    creation,
    metadata,
    retry,
    upload,
    upload_multiple,
)

from . import common

sys.modules[f"{__name__}.core"] = core
sys.modules[f"{__name__}.creation"] = creation
sys.modules[f"{__name__}.retry"] = retry

__all__ = [
    "Metadata",
    "ProtocolError",
    "RetryConfiguration",
    "SSLArgument",
    "common",
    "core",
    "creation",
    "metadata",
    "retry",
    "upload",
    "upload_multiple",
]
