"""``aiotus.entrypoint`` over tuskit: the aiotus-compatible command line of ``tuskit``."""

from tuskit_cli.aiotus import main

__all__ = ["main"]
