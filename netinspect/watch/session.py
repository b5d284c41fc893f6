"""``netinspect watch``: warm up once, then re-inspect in a fresh fork on every save.

    warm_up(job)                 # torch, netinspect, one tiny inspection; torchvision if needed
    watch(job, screen, files)    # run, show, wait for a change, repeat until Ctrl-C

Each run shows the table with the rows whose shapes or params changed since the previous
successful run marked (``compare.compare_reports``, the diff ``check`` uses); a failed forward
shows its diagnosis; a file that does not import shows its one-line error. A save while a run
is still going stops that run and starts a new one.
"""

from __future__ import annotations

import gc
import importlib
import os
import re
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from netinspect.errors import UsageError
from netinspect.render import RenderOptions
from netinspect.watch.files import Stamp, changed_files, display_path, is_local_file, stamps
from netinspect.watch.fork import ChildRun, InspectJob, RunOutcome

# A save is seen 12 ms after it on average, for a few stat() calls per tick.
POLL_SECONDS = 0.025
CLEAR_SCREEN = "\x1b[H\x1b[2J"


@dataclass(frozen=True, slots=True)
class ScreenOptions:
    """How each run is shown (``inspect``'s table options)."""

    render: RenderOptions
    explain: bool = False
    depth: int | None = None
    collapse: bool = True
    # A terminal: clear the screen before each run; a pipe or file gets every run appended.
    clear: bool = False


# --- before torch -------------------------------------------------------------------------


def initial_files(target: str, weights: str | None = None) -> list[str]:
    """The files known to matter before anything is imported: a ``file.py:Name`` or a config,
    ``pkg/mod.py`` of ``pkg.mod:Name`` when it is local, and ``--weights``. Runs add the local
    modules they import. Raises UsageError when there is nothing local to watch."""
    from netinspect.compare.baseline import split_file_target
    from netinspect.sources.target import is_config_path

    files: list[str] = []
    parts = split_file_target(target)
    if parts is not None:
        path = parts[0]
        if not Path(path).is_file():
            what = "config" if is_config_path(path) else "model file"
            raise UsageError(f"{what} not found: {path}")
        files.append(path)
    elif ":" in target:
        module = target.rpartition(":")[0]
        base = Path(*module.split("."))
        files += [str(p) for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()]
    if weights is not None:
        if not Path(weights).is_file():
            raise UsageError(f"weights file not found: {weights}")
        files.append(weights)
    if not files and ":" not in target:
        raise UsageError(
            f"nothing to watch: {target} is a torchvision model, not a file of yours; watch a "
            "path/to/model.py:Name, a YAML config or a local package.module:Name (or pass "
            "--weights FILE)"
        )
    return [os.path.realpath(f) for f in files]


def needs_torchvision(target: str) -> bool:
    """A torchvision name, or a config that builds on torchvision (``model:`` or a
    ``torchvision`` ``_target_``): import torchvision before the first run."""
    from netinspect.sources.target import is_config_path

    if is_config_path(target):
        try:
            text = Path(target).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        return "torchvision" in text or re.search(r"^model\s*:", text, re.MULTILINE) is not None
    return ":" not in target and not target.endswith(".py")


# --- the warm parent ------------------------------------------------------------------------


def warm_up(job: InspectJob) -> None:
    """Import what every run needs, and run one tiny inspection so that torch's lazily
    loaded pieces (meta kernels, FLOP formulas, the function mode) are loaded before the
    first fork rather than in every child."""
    import sympy  # noqa: F401  # a pass imports these only when a model needs them
    import torch
    import torch.fx.experimental.symbolic_shapes  # (torch_compat.sympy_free)
    from torch import nn

    import netinspect.analysis.diagnose
    import netinspect.analysis.explain
    import netinspect.analysis.layers
    import netinspect.compare.reports
    import netinspect.render.watch
    from netinspect.pipeline.run import inspect_model

    if needs_torchvision(job.target):
        import torchvision  # noqa: F401
    if job.target.lower().endswith((".yaml", ".yml")):
        import netinspect.sources.config  # noqa: F401

    class _Warm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)
            )
            self.pool = nn.AdaptiveAvgPool2d(2)
            self.norm = nn.LayerNorm(16)
            self.head = nn.Linear(16, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.flatten(self.pool(self.features(x)), 1)
            out: torch.Tensor = self.head(self.norm(x) + x)
            return out.softmax(-1)

    with torch.device("meta"):
        model = _Warm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inspect_model(model, ["1x3x8x8"], device="meta")
    _freeze_heap()


def _freeze_heap() -> None:
    """Move everything alive now out of the collector's reach: the children then don't
    touch (and copy) the parent's pages when their garbage collector runs."""
    gc.collect()
    gc.freeze()


def import_library_modules(names: Iterable[str]) -> None:
    """Import, in the watcher, the library modules a run needed (never the user's code)."""
    import sys

    from netinspect.torch_compat.user_modules import forget_module

    missing = sorted(n for n in set(names) if n not in sys.modules and n != "__main__")
    if not missing:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in missing:
            try:
                module = importlib.import_module(name)
            except Exception:
                continue
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and is_local_file(file):  # pragma: no cover - defensive
                forget_module(name)
    _freeze_heap()


# --- the loop -------------------------------------------------------------------------------


class _Screen:
    """Writes each run: the table and its changes on ``out``, errors and status on ``err``."""

    def __init__(self, options: ScreenOptions, out: TextIO, err: TextIO) -> None:
        self.options = options
        self.out = out
        self.err = err
        self.previous: dict[str, Any] | None = None  # comparable view of the last good run
        self.previous_run = 0

    def header(self, run: int, reason: str) -> None:
        prefix = CLEAR_SCREEN if self.options.clear else ("\n" if run > 1 else "")
        self.out.write(f"{prefix}[run {run}] {reason}\n")
        self.out.flush()

    def show(self, run: int, outcome: RunOutcome) -> None:
        from netinspect.compare.diff import comparable_view
        from netinspect.compare.reports import compare_reports
        from netinspect.render.watch import change_footer, change_marks, render_watch_run

        report = outcome.report
        if report is not None:
            diff = None
            if self.previous is not None:
                diff = compare_reports(
                    self.previous,
                    report,
                    old_label=f"run {self.previous_run}",
                    new_label=f"run {run}",
                )
            shown = self._for_display(report)
            failed = outcome.status == "failed"
            marks = change_marks(diff, report, shown) if diff is not None else {}
            footer = change_footer(diff, failed=failed) if diff is not None else []
            self.out.write(render_watch_run(shown, self.options.render, marks, footer))
            self.out.flush()
            if not failed:
                self.previous = comparable_view(report)
                self.previous_run = run
        if outcome.message:
            self.err.write(f"netinspect: error: {outcome.message}\n")
        self.err.flush()

    def _for_display(self, report: Any) -> Any:
        from netinspect.analysis.layers import collapse_repeats, fold_to_depth

        if self.options.explain:
            from netinspect.analysis.explain import explain_report

            report = explain_report(report)
        if self.options.depth is not None:
            report = fold_to_depth(report, self.options.depth)
        if self.options.collapse:
            report = collapse_repeats(report)
        return report

    def status(self, run: int, outcome: RunOutcome, files: Sequence[str]) -> None:
        verdict = {"ok": "done", "failed": "failed", "error": "failed", "crashed": "crashed"}
        shown = ", ".join(display_path(f) for f in files) or "nothing"
        self.err.write(
            f"netinspect: run {run} {verdict[outcome.status]} in {outcome.seconds:.2f} s; "
            f"watching {shown} (Ctrl-C to stop)\n"
        )
        self.err.flush()


def _wait_for_change(watched: dict[str, Stamp], poll: float) -> list[str]:
    """Block until a watched file changes, then until it has been still for one tick (an
    editor that truncates and then writes is read once, whole)."""
    while True:
        changed = changed_files(watched)
        if changed:
            break
        time.sleep(poll)
    while True:
        settled = stamps(watched)
        time.sleep(min(poll, 0.01))
        if stamps(watched) == settled:
            return changed


def watch(
    job: InspectJob,
    screen_options: ScreenOptions,
    files: Sequence[str],
    *,
    out: TextIO,
    err: TextIO,
    debug: bool = False,
    poll: float = POLL_SECONDS,
) -> None:
    """Inspect ``job`` now and after every change to a watched file, until interrupted
    (KeyboardInterrupt propagates, after the running child is killed and reaped)."""
    screen = _Screen(screen_options, out, err)
    watched: dict[str, Stamp] = stamps(files)
    run = 0
    reason = "first run"
    # Always one child forked and waiting, so a save does not wait for fork().
    child = ChildRun(job, debug)
    try:
        while True:
            run += 1
            screen.header(run, reason)
            # What this run reads: a change to any of it after this point means another run.
            before = stamps(watched)
            child.start()
            outcome = None
            while outcome is None:
                outcome = child.poll(poll)
                if outcome is None and changed_files(before):
                    break
            if outcome is None:
                child.kill()
                child = ChildRun(job, debug)
                reason = "changed during the run: started again"
                continue
            screen.show(run, outcome)
            # New files enter with the stamps the child saw, so an edit made while the
            # run was going is still noticed.
            for path, seen in outcome.files.items():
                watched.setdefault(path, seen)
            if not watched:
                raise UsageError(
                    f"nothing to watch: {job.target} imported no local file (it comes from an "
                    "installed package)"
                )
            import_library_modules(outcome.library_modules)
            child = ChildRun(job, debug)
            screen.status(run, outcome, list(watched))
            changed = _wait_for_change(watched, poll)
            watched.update(stamps(watched))
            reason = ", ".join(display_path(f) for f in changed) + " changed"
    finally:
        child.kill()
