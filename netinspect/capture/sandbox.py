"""What a model's forward may do to the process around it, undone after the pass.

The forward is user code and runs in netinspect's own process, so ``ForwardSandbox`` keeps it
from changing what netinspect writes or where:

- ``print`` and ``sys.stdout`` writes go to stderr during the pass: stdout carries only the
  payload (``-f json`` stays parseable). Closing or replacing ``sys.stdout`` does not reach
  netinspect's own.
- The working directory is put back (``os.chdir`` in forward would move relative paths).
- torch's default device and function-mode stack are put back (``torch.set_default_device``
  in forward; see ``torch_compat.mode_stack``).
- A forward that forks returns in more than one process: every process but the one that
  started the pass ends at once, silently, so only the original writes output.

Threads the forward starts are not joined: the CLI ends without waiting for them.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from types import TracebackType
from typing import TextIO

from netinspect.torch_compat.mode_stack import restore_mode_state, save_mode_state


class _ToStderr(io.TextIOBase):
    """A stand-in ``sys.stdout`` that writes to ``stream``; closing it closes nothing."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self.flush()

    @property
    def closed(self) -> bool:
        return False

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8") or "utf-8"


class ForwardSandbox:
    """Context manager around one call of a model's forward (see the module docstring)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.changed_default_device = False

    def __enter__(self) -> ForwardSandbox:
        self.pid = os.getpid()
        try:
            self._cwd: str | None = os.getcwd()
        except OSError:  # the directory was removed under us; nothing to go back to
            self._cwd = None
        self._stdout = sys.stdout
        if sys.stderr is not None:
            sys.stdout = _ToStderr(sys.stderr)
        self._modes = save_mode_state()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if os.getpid() != self.pid:
            # A forked child returning from forward: it must not write a report, run atexit
            # handlers or flush buffers it inherited (the parent flushes its own).
            os._exit(0)
        self.changed_default_device = restore_mode_state(self._modes)
        sys.stdout = self._stdout
        if self._cwd is not None and _cwd_or_none() != self._cwd:
            with contextlib.suppress(OSError):
                os.chdir(self._cwd)


def _cwd_or_none() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None
