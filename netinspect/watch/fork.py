"""One inspection in a process forked from the warm watcher.

The watcher imports torch (and netinspect, and what earlier runs needed) once; each run is a
``fork()`` of it, so it starts with all of that in memory but has never imported the user's
code: the model file and its local modules are imported fresh, and whatever the run does
(a crash, ``sys.exit``, a monkeypatch, a hang) cannot touch the watcher. The child sends its
outcome back through a pipe (pickled) and leaves with ``os._exit``, never returning into the
watcher's code.

The child runs in its own process group, so the terminal's Ctrl-C reaches only the watcher,
which kills the group (the child and anything it started) and reaps it. On Linux the child
also asks to be killed when the watcher dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from netinspect.errors import describe_exception
from netinspect.watch.files import Stamp, split_new_modules, stamps, traceback_files

if TYPE_CHECKING:
    from netinspect.records import InspectionReport

RunStatus = Literal["ok", "failed", "error", "crashed"]


@dataclass(frozen=True, slots=True)
class InspectJob:
    """What each run inspects: ``inspect_model``'s arguments."""

    target: str
    inputs: tuple[str, ...] | None = None
    device: str = "auto"
    dtype: str | None = None
    weights: str | None = None
    allow_import: tuple[str, ...] = ()
    forward_args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one run found. ``ok``: ``report`` is complete; ``failed``: the forward raised and
    ``report`` is the partial one; ``error``: nothing to show but ``message`` (a file that
    does not import, a usage error); ``crashed``: the process died without an answer."""

    status: RunStatus
    report: InspectionReport | None = None
    message: str = ""
    # Local files the run read (the model file, its local modules, files in a traceback),
    # with their stamps when they were read.
    files: Mapping[str, Stamp] = field(default_factory=dict)
    # Library modules the run imported that the watcher has not: it imports them for the
    # next runs (torchvision for a config that builds on it, timm, ...).
    library_modules: tuple[str, ...] = ()
    seconds: float = 0.0


def inspect_in_this_process(job: InspectJob, debug: bool = False) -> RunOutcome:
    """Run ``job`` here (the child's work; also usable in-process for tests)."""
    from netinspect.errors import ForwardFailed, NetinspectError
    from netinspect.pipeline.run import inspect_model

    start = time.perf_counter()
    before = set(sys.modules)
    failure: BaseException | None = None
    try:
        report = inspect_model(
            job.target,
            inputs=list(job.inputs) if job.inputs else None,
            device=job.device,
            dtype=job.dtype,
            weights=job.weights,
            allow_import=job.allow_import,
            forward_args=dict(job.forward_args),
            fast_imports=True,  # `netinspect watch`: the CLI's own process
        )
        outcome = RunOutcome("ok", report)
    except ForwardFailed as exc:
        failure = exc
        message = exc.report.error.message if exc.report.error is not None else str(exc)
        outcome = RunOutcome("failed", exc.report, f"forward pass failed: {message}")
    except NetinspectError as exc:
        failure = exc
        outcome = RunOutcome("error", message=str(exc))
    except SystemExit as exc:
        failure = exc
        outcome = RunOutcome("error", message=f"the model called sys.exit({exc.code!r})")
    except Exception as exc:
        failure = exc
        outcome = RunOutcome(
            "error",
            message=f"internal error: {describe_exception(exc)} (a bug in netinspect; "
            "run with --debug for the traceback)",
        )
    if failure is not None and debug:
        traceback.print_exception(failure.__cause__ or failure)
    local, library = split_new_modules(sys.modules, before)
    files = [*local, *traceback_files(failure)]
    return replace(
        outcome,
        files=stamps(dict.fromkeys(files)),
        library_modules=tuple(library),
        seconds=time.perf_counter() - start,
    )


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the watcher dies, whatever kills it."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the watcher died before prctl took effect
        os._exit(1)


def _child_main(job: InspectJob, write_fd: int, go_fd: int, parent: int, debug: bool) -> None:
    code = 0
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        _die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Compile what this run imports from source: a .pyc is trusted when the source's
        # mtime (whole seconds) and size match, so two saves within a second that keep the
        # size (8 -> 5) would run the old code. Library modules the watcher already holds are
        # not imported again, so this costs only the user's files.
        sys.dont_write_bytecode = True
        # A directory that does not exist: nothing is read from it, nothing written.
        sys.pycache_prefix = os.path.join(
            tempfile.gettempdir(), f"netinspect-watch-no-pyc-{os.getpid()}-{time.time_ns()}"
        )
        # Forked ahead of time: wait for the go (end of file: not wanted after all).
        if not os.read(go_fd, 1):
            return
        os.close(go_fd)
        outcome = inspect_in_this_process(job, debug)
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            # A layer attribute pickle cannot carry: send the report as its JSON dict instead.
            from netinspect.deserialize import report_from_dict

            report = outcome.report
            if report is not None:
                outcome = replace(outcome, report=report_from_dict(report.to_dict()))
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
    except BaseException:
        code = 1
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class ChildRun:
    """A forked run. It is forked ahead of time and waits: ``start`` lets it go (so a save
    does not wait for the fork), ``poll`` until it answers, ``kill`` when it is not wanted."""

    def __init__(self, job: InspectJob, debug: bool = False) -> None:
        # Buffered output written before the fork would otherwise be written twice.
        sys.stdout.flush()
        sys.stderr.flush()
        read_fd, write_fd = os.pipe()
        go_read, go_write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            try:
                os.close(read_fd)
                os.close(go_write)
                _child_main(job, write_fd, go_read, parent, debug)
            finally:
                os._exit(1)
        os.close(write_fd)
        os.close(go_read)
        # Also from this side, so that a kill right after the fork reaches the whole group.
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        self.pid: int | None = pid
        self._fd: int | None = read_fd
        self._go: int | None = go_write
        self._chunks: list[bytes] = []

    def start(self) -> None:
        """Let the waiting child run the job."""
        if self._go is None:
            raise RuntimeError("this run has already started")
        os.write(self._go, b"g")
        os.close(self._go)
        self._go = None

    def poll(self, timeout: float) -> RunOutcome | None:
        """Wait up to ``timeout`` s for the answer; None while the child is still running."""
        if self._fd is None:
            raise RuntimeError("this run is over")
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._fd], [], [], left)
            if not readable:
                return None
            chunk = os.read(self._fd, 1 << 16)
            if chunk:
                self._chunks.append(chunk)
                continue
            return self._finish()  # end of file: the child is done

    def _finish(self) -> RunOutcome:
        assert self.pid is not None and self._fd is not None
        os.close(self._fd)
        self._fd = None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        data = b"".join(self._chunks)
        if data:
            try:
                outcome = pickle.loads(data)
            except Exception as exc:
                return RunOutcome(
                    "crashed", message=f"unreadable answer ({describe_exception(exc)})"
                )
            if isinstance(outcome, RunOutcome):
                return outcome
        return RunOutcome("crashed", message=_death(status))

    def kill(self) -> None:
        """Kill the child's process group and reap the child; safe to call twice."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None
        for fd in (self._fd, self._go):
            if fd is not None:
                os.close(fd)
        self._fd = self._go = None


def _death(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the inspection process was killed by {name}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the inspection process exited with code {code} without an answer"
