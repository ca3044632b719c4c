"""File hooks as tusd runs them (``-hooks-dir``): an executable named after each event.

The hook request arrives as JSON on stdin (``TUS_ID``, ``TUS_OFFSET`` and ``TUS_SIZE`` in
the environment too); exit 0 with tusd's hook response (or nothing) on stdout goes on, any
other exit or a timeout is a failure (a pre-hook answers 500; the script's process group is
killed). A missing file means the event is not hooked. stderr is the server's, for the
script's own logging.
"""

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tuskit_server._hook_runner import DeliveryError, HookRunner
from tuskit_server.hook_events import DEFAULT_EVENTS
from tuskit_server.hooks import Hooks

__all__ = ["FileHooks"]


class FileHooks:
    """Run ``directory/<event>`` for each event; :meth:`hooks` is what ``setup_tus`` takes.

    Example: ``setup_tus(app, ..., hooks=FileHooks("hooks/").hooks())``.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        timeout: float = 30.0,
        events: Iterable[str] = DEFAULT_EVENTS,
    ) -> None:
        if timeout <= 0:
            raise ValueError("the hook timeout must be positive")
        self.directory = Path(directory).absolute()
        self.timeout = timeout
        self._runner = HookRunner(self._deliver, events=events)

    def hooks(self) -> Hooks:
        """The hooks of the enabled events."""
        return self._runner.hooks()

    async def _deliver(self, event: str, body: dict[str, Any]) -> object:
        upload = body["Event"]["Upload"]
        size = upload["Size"]
        env = {
            **os.environ,
            "TUS_ID": upload["ID"],
            "TUS_OFFSET": str(upload["Offset"]),
            "TUS_SIZE": "" if size is None else str(size),
        }
        script = self.directory / event
        try:
            process = await asyncio.create_subprocess_exec(
                script,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.directory,
                start_new_session=True,  # a timeout kills the script and what it started
            )
        except FileNotFoundError:
            return None  # no hook for this event
        except OSError as exc:
            raise DeliveryError(f"{script} cannot be run: {exc.strerror or exc}") from None
        try:
            stdout, _ = await asyncio.wait_for(
                process.communicate(json.dumps(body).encode()), self.timeout
            )
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise DeliveryError(f"{script} ran longer than {self.timeout:g}s") from None
        if process.returncode != 0:
            raise DeliveryError(f"{script} exited with status {process.returncode}")
        text = stdout.decode("utf-8", "replace")
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            raise DeliveryError(f"{script} printed something else than JSON") from None
