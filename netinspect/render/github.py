"""GitHub Actions annotations for ``check --format github``: one ``::error`` per failing
target, pointing at the target's file and, where known, the line of the changed layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from netinspect.render.diff import CHECK_WORDS, NOT_REACHED, accept_line, diff_lines, summary_line
from netinspect.render.safe import printable

if TYPE_CHECKING:
    from netinspect.compare.baseline import CheckResult


def _escape_data(text: str) -> str:
    # GitHub workflow-command escaping: the message may span lines as %0A.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def source_line(source: str | None, file: str) -> int | None:
    """The line of ``source`` (``models/net.py:12``) when it is in ``file``: an annotation
    points at a line of the file it names, never at torch's or another module's."""
    if not source:
        return None
    where, _, line = source.rpartition(":")
    if not line.isdigit() or not where:
        return None
    same = where == file or where.endswith("/" + file) or file.endswith("/" + where)
    return int(line) if same else None


def render_check_github(
    results: Sequence[CheckResult], files: dict[str, str] | None = None, max_rows: int = 30
) -> str:
    """GitHub Actions ``::error`` annotations, one per failing target, plus a plain line per
    passing one. ``files`` maps a target to the file to annotate (its .py or config)."""
    lines: list[str] = []
    for result in results:
        if result.status not in ("regression", "failed", "error"):
            lines.append(f"netinspect: {CHECK_WORDS[result.status]} {result.target}")
            continue
        if result.status == "error":
            title = f"netinspect check: {result.target}"
            message = result.error or "error"
        elif result.status == "failed":
            # The model's failure, not a shape change: no --update advice (it would refuse).
            title = f"netinspect check: {result.target} forward pass failed"
            body = [result.error or "forward pass failed"]
            if result.diff is not None and result.diff.is_regression:
                body.append(f"Against the baseline ({NOT_REACHED}):")
                body += diff_lines(result.diff, max_rows)
            message = "\n".join(body)
        else:
            assert result.diff is not None
            title = f"netinspect check: {result.target} changed shape"
            body = [summary_line(result.diff), *diff_lines(result.diff, max_rows)]
            body.append(accept_line(result.target))
            message = "\n".join(body)
        props = [f"title={_escape_property(title)}"]
        file = (files or {}).get(result.target)
        if file:
            line = source_line(result.source, file)
            if line is not None:
                props.insert(0, f"line={line}")
            props.insert(0, f"file={_escape_property(file)}")
        lines.append(f"::error {','.join(props)}::{_escape_data(message)}")
    return printable("\n".join(lines)) + "\n"
