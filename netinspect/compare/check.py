"""``snapshot`` and ``check``: inspect targets and compare them with their baselines; the
split of the targets over CI matrix jobs (``--shard``)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netinspect.compare.baseline import (
    Baseline,
    CheckResult,
    CheckTarget,
    baseline_exists,
    baseline_from_report,
    baseline_path,
    canonical_target,
    read_baseline,
    write_baseline,
    write_baseline_file,
)
from netinspect.compare.diff import ReportDiff
from netinspect.compare.reports import compare_reports
from netinspect.errors import (
    BaselineError,
    ForwardFailed,
    NetinspectError,
    UsageError,
)
from netinspect.records import (
    InspectionReport,
)

# --- sharding (CI matrix jobs) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shard:
    """``--shard I/N``: the I-th of N parts of the targets, numbered from 1."""

    index: int
    count: int


_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> Shard:
    """``"2/3"`` -> Shard(2, 3). Raises UsageError for anything but ``I/N`` with 1 <= I <= N."""
    match = _SHARD.fullmatch(text)
    if match is None:
        raise UsageError(
            f"--shard {text!r}: expected I/N, the I-th of N shards counted from 1 (--shard 1/3)"
        )
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise UsageError(f"--shard {text!r}: the number of shards must be at least 1")
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: I must be between 1 and {count} (shards count from 1)")
    return Shard(index, count)


def distinct_targets(items: Sequence[CheckTarget]) -> list[CheckTarget]:
    """``items`` in order, each target once (by its canonical spelling, as ``select_shard``
    counts them): a target listed twice is inspected, and its baseline written, once."""
    distinct: dict[str, CheckTarget] = {}
    for item in items:
        distinct.setdefault(canonical_target(item.target), item)
    return list(distinct.values())


def select_shard(items: Sequence[CheckTarget], shard: Shard) -> list[CheckTarget]:
    """The targets of ``shard``: deal the distinct targets, sorted by their canonical spelling,
    round-robin over the shards. Every job of a CI matrix computes the same split whatever
    order the targets were listed or typed in, each target lands in exactly one shard, and
    the shards differ in size by at most one target."""
    ordered = sorted(distinct_targets(items), key=lambda item: canonical_target(item.target))
    return ordered[shard.index - 1 :: shard.count]


# --- snapshot and check ----------------------------------------------------------------------


def inspect_for_baseline(
    location: str,
    inputs: tuple[str, ...] | None,
    allow_import: tuple[str, ...] = (),
    *,
    fast_imports: bool = False,
) -> InspectionReport:
    """Inspect on the default device; a failing forward still yields its partial report."""
    from netinspect.pipeline.run import inspect_model

    try:
        return inspect_model(
            location,
            inputs=list(inputs) if inputs else None,
            allow_import=allow_import,
            fast_imports=fast_imports,
        )
    except ForwardFailed as exc:
        return exc.report


def snapshot_target(
    item: CheckTarget, directory: str | os.PathLike[str], *, fast_imports: bool = False
) -> Path:
    """Inspect ``item`` and write its baseline. A model whose forward fails is refused."""
    from netinspect.pipeline.run import inspect_model

    report = inspect_model(
        item.location,
        inputs=list(item.inputs) if item.inputs else None,
        allow_import=item.allow_import,
        fast_imports=fast_imports,
    )
    return write_baseline(directory, baseline_from_report(item.target, item.inputs, report))


def check_target(
    item: CheckTarget,
    directory: str | os.PathLike[str],
    *,
    update: bool = False,
    fast_imports: bool = False,
) -> CheckResult:
    """Compare ``item`` with its baseline; ``update`` writes the new state when it differs
    (and creates a missing baseline). Usage problems come back as status "error"."""
    path = baseline_path(directory, item.target)
    target = canonical_target(item.target)
    try:
        baseline = read_baseline_of(path, target)
        if baseline is None and not update:
            # A typo (``vgg61``) is an unknown model, not a missing baseline: say so first.
            from netinspect.sources.resolve import resolve_target

            resolve_target(item.location, allow_import=item.allow_import)
            raise BaselineError(
                f"no baseline: {path} does not exist "
                f"(create it with `netinspect snapshot {target}`)"
            )
        inputs = item.inputs if item.inputs is not None else (baseline.inputs if baseline else None)
        report = inspect_for_baseline(
            item.location, inputs, item.allow_import, fast_imports=fast_imports
        )
        return judge_report(path, target, inputs, report, baseline, update=update)
    except NetinspectError as exc:
        # Every result is shown after its target: a message that starts with it would say it twice.
        message = str(exc).removeprefix(f"{target}: ").removeprefix(f"{item.target}: ")
        return CheckResult(target, str(path), "error", error=message, exit_code=exc.exit_code)


def read_baseline_of(path: Path, target: str) -> Baseline | None:
    """The baseline at ``path`` when there is one, checked to be ``target``'s."""
    if not baseline_exists(path):  # a dangling or looping link is there: read_baseline says so
        return None
    baseline = read_baseline(path)
    if baseline.target != target:
        raise BaselineError(f"{path} is the baseline of {baseline.target!r}, not {target!r}")
    return baseline


def judge_report(
    path: Path,
    target: str,
    inputs: tuple[str, ...] | None,
    report: InspectionReport,
    baseline: Baseline | None,
    *,
    update: bool = False,
    baseline_label: str | None = None,
) -> CheckResult:
    """The check of one fresh ``report`` against ``baseline`` (None: there is none, and
    ``update`` creates it). With ``update`` a differing baseline is rewritten at ``path``.
    A forward pass that raised is status "failed" (exit 3) with or without ``update``: the
    baseline is never written from it. Raises BaselineError when writing fails.
    ``baseline_label`` names the baseline in the diff (default: ``path``)."""
    old_label = baseline_label or str(path)
    diff = (
        None
        if baseline is None
        else compare_reports(baseline.view, report, old_label=old_label, new_label=target)
    )
    if report.error is not None:
        # A model that no longer runs is broken, not reshaped: accepting it would bury the
        # failure in the baseline, so --update refuses it and nothing advises --update.
        kept = ", baseline not updated" if update and baseline is not None else ""
        kept = ", no baseline created" if update and baseline is None else kept
        return CheckResult(
            target,
            str(path),
            "failed",
            diff,
            error=f"forward pass failed{kept}: {report.error.message}",
            exit_code=ForwardFailed.exit_code,
            source=report.error.source,
        )
    if diff is None:
        write_baseline_file(path, baseline_from_report(target, inputs, report))
        return CheckResult(target, str(path), "created")
    if not diff.is_regression:
        return CheckResult(target, str(path), "ok", diff)
    if update:
        write_baseline_file(path, baseline_from_report(target, inputs, report))
        return CheckResult(target, str(path), "updated", diff)
    return CheckResult(
        target, str(path), "regression", diff, exit_code=1, source=changed_source(report, diff)
    )


def changed_source(report: InspectionReport, diff: ReportDiff) -> str | None:
    """Where the first row that differs is called in the model's code (``net.py:12``), for
    an annotation's line: the first changed or added row that has a source line."""
    sources = {(r.name, r.call_index): r.source for r in report.layers}
    for row in diff.layer_changes:
        if row.new is not None and sources.get((row.new.name, row.new.call_index)):
            return sources[(row.new.name, row.new.call_index)]
    return None
