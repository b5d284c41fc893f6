"""``netinspect snapshot``, ``check`` and ``diff``: shape-regression checks for CI."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, TypeVar

import typer

from .app import (
    EXIT_OK,
    EXIT_REGRESSION,
    DebugOption,
    app,
    emit,
    eprint,
    fail,
    handle_errors,
    one_stream,
    output_width,
    use_color,
)
from .inspect_cmd import (
    AllowImportOption,
    OutputOption,
    read_config_early,
)
from .output import (
    pin_path,
    write_output,
)

if TYPE_CHECKING:
    from netinspect.compare.baseline import CheckTarget
    from netinspect.compare.project import ProjectSettings


class CheckFormat(str, Enum):
    table = "table"
    json = "json"
    github = "github"


class DiffFormat(str, Enum):
    table = "table"
    json = "json"
    html = "html"


TargetsArgument = Annotated[
    Optional[list[str]],
    typer.Argument(
        help="torchvision names, timm:/hf: names, YAML configs, file.py:Class or pkg.mod:Class. "
        "Default: "
        "[tool.netinspect] targets in pyproject.toml.",
        show_default=False,
    ),
]
DirOption = Annotated[
    Optional[Path],
    typer.Option(
        "--dir",
        help="Baseline directory. Default: [tool.netinspect] dir, else .netinspect (next to "
        "pyproject.toml when there is one).",
    ),
]
InputOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--input",
        "-i",
        metavar="SPEC",
        help="Input spec for every target, repeatable (1x3x224x224). Default: "
        "[tool.netinspect.inputs], then the baseline's, then the model's usual input.",
    ),
]

T = TypeVar("T")


def _display_path(path: Path) -> Path:
    """Relative to the current directory for messages, when that is shorter."""
    try:
        relative = Path(os.path.relpath(path))
    except ValueError:  # another drive on Windows
        return path
    return relative if len(str(relative)) <= len(str(path)) else path


def _baseline_dir(settings: ProjectSettings, directory: Path | None) -> Path:
    from netinspect.compare.baseline import DEFAULT_BASELINE_DIR

    if directory is not None:
        return directory
    if settings.pyproject is None:
        return Path(settings.directory or DEFAULT_BASELINE_DIR)
    return _display_path(settings.root / (settings.directory or DEFAULT_BASELINE_DIR))


def _targets(
    settings: ProjectSettings,
    named: Sequence[str],
    inputs: Sequence[str],
    from_baselines: Path | None,
    allow_import: Sequence[str] = (),
) -> list[CheckTarget]:
    """Targets from the command line, else pyproject.toml. Never from the baselines: what a
    baseline file names is data, and running it would import whatever it says
    (``"target": "os:abort"``); ``check`` reports the baselines no target claims instead."""
    from netinspect.compare.baseline import CheckTarget
    from netinspect.compare.project import locate, project_target

    def make(target: str, location: str) -> CheckTarget:
        chosen = tuple(inputs) if inputs else settings.inputs.get(target)
        return CheckTarget(
            target=target,
            location=location,
            inputs=chosen,
            allow_import=_allowed(settings, allow_import),
        )

    from netinspect.compare.check import distinct_targets

    if named:
        if settings.pyproject is None:
            return distinct_targets([make(t, t) for t in named])
        # One baseline per target whatever the current directory: name it from the root.
        return distinct_targets([make(project_target(t, settings.root), t) for t in named])
    if settings.targets:
        return distinct_targets([make(t, locate(t, settings.root)) for t in settings.targets])
    from netinspect.compare.baseline import unclaimed_baselines

    unclaimed = unclaimed_baselines(from_baselines, ()) if from_baselines is not None else []
    held = ""
    if unclaimed:
        # repr: a target is text from a file, and may hold terminal escapes.
        names = ", ".join(repr(target) if target else path.name for path, target in unclaimed[:5])
        more = ", ..." if len(unclaimed) > 5 else ""
        held = (
            f"; the {len(unclaimed)} baseline(s) in {from_baselines} ({names}{more}) are not "
            "run on their own: a baseline's target is data, not a command"
        )
    fail(
        "no targets: name them, or list them under [tool.netinspect] targets in "
        f"pyproject.toml (no targets there){held}"
    )


def _allowed(settings: ProjectSettings, allow_import: Sequence[str] | None) -> tuple[str, ...]:
    """``--allow-import`` prefixes plus ``[tool.netinspect] allow_import``."""
    return tuple(dict.fromkeys((*settings.allow_import, *(allow_import or ()))))


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """A Rich progress bar on stderr for several targets; yields ``advance(next_label)``."""
    if total < 2:
        yield lambda label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # A log file gets no bar: only a live terminal redraws it.
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("inspecting", total=total)
        started = False

        def advance(label: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=label)

        yield advance
        progress.advance(task)


def _each(items: Sequence[T], label: Callable[[T], str]) -> Iterator[T]:
    with _progress(len(items)) as advance:
        for item in items:
            advance(label(item))
            yield item


@app.command("snapshot")
def snapshot_command(
    targets: TargetsArgument = None,
    directory: DirOption = None,
    inputs: InputOption = None,
    allow_import: AllowImportOption = None,
    debug: DebugOption = False,
) -> None:
    """Write a baseline for each TARGET (one JSON file per target) for `netinspect check`."""
    with handle_errors(debug):
        from netinspect.compare.project import load_project_settings
        from netinspect.errors import NetinspectError

        settings = load_project_settings()
        base = _baseline_dir(settings, directory)
        items = _targets(settings, targets or [], inputs or [], None, allow_import or [])
        worst = EXIT_OK
        # One failing target must not stop the others: report each, exit with the worst code.
        for item in _each(items, lambda i: i.target):
            try:
                read_config_early(item.location)  # a hostile config costs no torch import
                from netinspect.compare.check import snapshot_target

                path = snapshot_target(item, base, fast_imports=True)
            except NetinspectError as exc:
                message = str(exc)
                if len(items) > 1 and item.target not in message:
                    message = f"{item.target}: {message}"
                eprint(f"netinspect: error: {message}")
                worst = max(worst, exc.exit_code)
                continue
            eprint(f"netinspect: wrote baseline {path}")
        raise typer.Exit(worst)


@app.command("check")
def check_command(
    targets: TargetsArgument = None,
    directory: DirOption = None,
    update: Annotated[
        bool, typer.Option("--update", help="Accept the new state: rewrite differing baselines.")
    ] = False,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = (
        CheckFormat.table
    ),
    inputs: InputOption = None,
    allow_import: AllowImportOption = None,
    html: Annotated[
        Optional[Path],
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write every target's side-by-side diff as one HTML page (a CI artifact).",
        ),
    ] = None,
    shard: Annotated[
        Optional[str],
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Check only the I-th of N shards of the targets (1/3, 2/3, 3/3): a split "
            "that is the same in every CI matrix job, whatever order the targets come in.",
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Compare each TARGET with its baseline. Exit 0: all match; 1: a regression; 2: usage
    error; 3: a forward pass failed (status FAILED: fix the model, --update refuses it)."""
    html_path = pin_path(html)  # before any model runs (a forward may change directory)
    with handle_errors(debug):
        from netinspect.compare.baseline import canonical_target, split_file_target
        from netinspect.compare.check import check_target, parse_shard, select_shard
        from netinspect.compare.project import load_project_settings
        from netinspect.render import RenderOptions
        from netinspect.render.diff import (
            render_check_json,
            render_check_table,
        )
        from netinspect.render.github import render_check_github

        # A bad --shard is refused before anything is loaded.
        chosen_shard = parse_shard(shard) if shard is not None else None
        settings = load_project_settings()
        base = _baseline_dir(settings, directory)
        items = _targets(settings, targets or [], inputs or [], base, allow_import or [])
        # Before sharding: another shard's targets still claim their baselines.
        if not targets:
            from netinspect.compare.baseline import unclaimed_baselines

            for path, target in unclaimed_baselines(base, [i.target for i in items]):
                named = f" (the baseline of {target!r})" if target else ""
                eprint(
                    f"netinspect: note: {path}{named} belongs to no target listed in "
                    "pyproject.toml: not checked"
                )
        if chosen_shard is not None:
            total = len({canonical_target(i.target) for i in items})
            items = select_shard(items, chosen_shard)
            eprint(
                f"netinspect: shard {chosen_shard.index}/{chosen_shard.count}: "
                f"{len(items)} of {total} target(s)"
                + (": " + ", ".join(i.target for i in items) if items else "")
            )
        results = [
            check_target(item, base, update=update, fast_imports=True)
            for item in _each(items, lambda i: i.target)
        ]
        match fmt:
            case CheckFormat.table:
                text = render_check_table(
                    results, RenderOptions(width=output_width(), color=use_color())
                )
            case CheckFormat.json:
                text = render_check_json(results)
            case CheckFormat.github:
                files = {
                    r.target: parts[0]
                    for r in results
                    if (parts := split_file_target(r.target)) is not None
                }
                text = render_check_github(results, files)
        emit(text)
        if html is not None:
            from netinspect.render.diff_html import render_check_html

            write_output(render_check_html(results), html_path, "html check report", html)
        for result in results:
            if result.status == "updated":
                eprint(f"netinspect: updated baseline {result.baseline}")
            elif result.status == "created":
                eprint(f"netinspect: created baseline {result.baseline}")
            elif result.status in ("error", "failed") and not (
                fmt is CheckFormat.table and one_stream()
            ):
                # Also in the payload (per target); stderr gets it for people reading a log,
                # unless the table's ERROR/FAILED line already reaches the same reader.
                eprint(f"netinspect: error: {result.target}: {result.error}")
        # The most serious outcome wins: forward failure (3) > usage (2) > regression (1).
        raise typer.Exit(max((r.exit_code for r in results), default=EXIT_OK))


@app.command("diff")
def diff_command(
    old: Annotated[str, typer.Argument(help="Target, config, saved report JSON or baseline.")],
    new: Annotated[str, typer.Argument(help="Target, config, saved report JSON or baseline.")],
    fmt: Annotated[
        Optional[DiffFormat],
        typer.Option(
            "--format",
            "-f",
            help="Output format. Default: table, or what --output's extension says (.json, .html).",
        ),
    ] = None,
    inputs: InputOption = None,
    allow_import: AllowImportOption = None,
    output: OutputOption = None,
    debug: DebugOption = False,
) -> None:
    """Show what changed between two models/reports. Exit 0: identical; 1: they differ."""
    with handle_errors(debug):
        from netinspect.compare.project import load_project_settings
        from netinspect.compare.reports import compare_reports
        from netinspect.render import RenderOptions
        from netinspect.render.diff import render_diff_json, render_diff_table

        allowed = _allowed(load_project_settings(), allow_import)
        from netinspect.sources.checkpoint.detect import is_checkpoint_target

        if is_checkpoint_target(old) or is_checkpoint_target(new):
            from .checkpoint_cmd import diff_checkpoints

            diff_checkpoints(old, new, fmt.value if fmt else None, output, allowed)
        from netinspect.compare.sides import comparable_sides

        sides = comparable_sides(
            (old, new),
            inputs or [],
            allowed,
            fast_imports=True,  # a cold start: the process is the CLI's own
            on_note=lambda note: eprint(f"netinspect: note: {note}"),
        )
        diff = compare_reports(sides[0], sides[1], old_label=old, new_label=new)
        if fmt is None:
            suffix = output.suffix.lower() if output is not None else ""
            fmt = {".json": DiffFormat.json, ".html": DiffFormat.html, ".htm": DiffFormat.html}.get(
                suffix, DiffFormat.table
            )
        match fmt:
            case DiffFormat.table:
                text = render_diff_table(
                    diff, RenderOptions(width=output_width(), color=use_color())
                )
            case DiffFormat.json:
                text = render_diff_json(diff)
            case DiffFormat.html:
                from netinspect.render.diff_html import render_diff_html

                text = render_diff_html(diff)
        write_output(text, output, f"{fmt.value} diff")
        raise typer.Exit(EXIT_REGRESSION if diff.is_regression else EXIT_OK)
