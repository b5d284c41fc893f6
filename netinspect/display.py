"""How results show themselves in a REPL, IPython, Jupyter and Rich, and their rendering methods.

The records stay plain frozen dataclasses: these mixins only add thin methods that hand the
record to ``netinspect.render.notebook`` (imported when a method runs, so that reading or
building records never loads the renderers). This module is the one place below ``render`` that
reaches up to it; ``tests/test_architecture.py`` names it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from netinspect.analysis.sizes import SizesReport
    from netinspect.compare.diff import ReportDiff
    from netinspect.errors import ForwardFailed
    from netinspect.records import InspectionReport

# ``columns=`` takes "shapes,params", a sequence of names, or ``render.Column`` members.
Columns = str | Sequence[Any] | None


def _in_jupyter_kernel() -> bool:
    """Running in a Jupyter kernel (a notebook, JupyterLab, VS Code): its front end shows the
    HTML view, and ``text/plain`` is only the fallback of the output."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    return shell is not None and type(shell).__module__.startswith("ipykernel")


def _repr_pretty_(self: object, printer: Any, cycle: bool) -> None:
    """IPython's pretty printer: the table (``str``) in a terminal, the one-line ``repr`` as
    the ``text/plain`` fallback beside a notebook's HTML view (a saved notebook stays small).
    Set in each class itself: IPython takes the first class in the MRO that defines
    ``_repr_pretty_`` or ``__repr__``."""
    printer.text(repr(self) if cycle or _in_jupyter_kernel() else str(self))


class ReportDisplay:
    """Display and rendering methods of ``InspectionReport``."""

    __slots__ = ()
    _repr_pretty_ = _repr_pretty_

    def _report(self) -> InspectionReport:
        return cast("InspectionReport", self)

    def __repr__(self) -> str:
        from netinspect.render.notebook import report_repr

        return report_repr(self._report())

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        from netinspect.render.notebook_html import report_html_view

        return report_html_view(self._report())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from netinspect.render.notebook import rich_text, table_text

        yield rich_text(table_text(self._report(), width=options.max_width, color=True))

    def table(
        self,
        *,
        depth: int | None = None,
        columns: Columns = None,
        collapse: bool | None = None,
        width: int = 100,
        color: bool = False,
    ) -> str:
        """The table as ``netinspect MODEL`` prints it: rows deeper than ``depth`` folded into
        their parent, ``columns`` ("shapes,params,macs,flops,memory"), identical consecutive
        blocks collapsed unless ``collapse=False``; plain text unless ``color=True``."""
        from netinspect.render.notebook import table_text

        return table_text(
            self._report(),
            depth=depth,
            columns=columns,
            collapse=collapse,
            width=width,
            color=color,
        )

    def markdown(
        self,
        *,
        depth: int | None = None,
        columns: Columns = None,
        collapse: bool | None = None,
        graph: bool = False,
    ) -> str:
        """``--format markdown``: the table and summary for a pull request or a notebook
        Markdown cell; ``graph=True`` adds the Mermaid data-flow graph."""
        from netinspect.render.notebook import markdown_text

        return markdown_text(
            self._report(), depth=depth, columns=columns, collapse=collapse, graph=graph
        )

    def json(self, *, depth: int | None = None, collapse: bool = False) -> str:
        """``--format json``: the report as JSON text (``to_dict()`` gives the dict)."""
        from netinspect.render.notebook import json_text

        return json_text(self._report(), depth=depth, collapse=collapse)

    def html(self, *, depth: int | None = None, collapse: bool = False) -> str:
        """``--format html``: the whole interactive page (data-flow graph, search, folding)
        as one self-contained file's text. For the inline notebook view, display the report."""
        from netinspect.render.notebook import page_text

        return page_text(self._report(), depth=depth, collapse=collapse)

    def mermaid(self, *, depth: int | None = None, collapse: bool = False) -> str:
        """``--format mermaid``: the data-flow graph as a Mermaid flowchart."""
        from netinspect.render.notebook import mermaid_text

        return mermaid_text(self._report(), depth=depth, collapse=collapse)

    def to_html(self, path: str | os.PathLike[str]) -> str:
        """Write the interactive page (``html()``) to ``path`` atomically; returns the path."""
        from netinspect.fileio import write_output

        write_output(os.fspath(path), self.html())
        return os.fspath(path)

    def show_graph(self, *, height: int = 640) -> Any:
        """The interactive page inside the notebook: displayed, it is a sandboxed frame that
        holds the whole page (no file, no server). Its scripts run where the notebook's HTML
        output may run scripts (a trusted notebook, VS Code); elsewhere use ``to_html(path)``."""
        from netinspect.render.notebook import show_page

        return show_page(self._report(), height=height)


class DiffDisplay:
    """Display methods of ``ReportDiff`` (what ``compare_reports`` returns)."""

    __slots__ = ()
    _repr_pretty_ = _repr_pretty_

    def _diff(self) -> ReportDiff:
        return cast("ReportDiff", self)

    def __repr__(self) -> str:
        from netinspect.render.notebook import diff_repr

        return diff_repr(self._diff())

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        from netinspect.render.notebook_html import diff_html_view

        return diff_html_view(self._diff())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from netinspect.render.notebook import diff_text, rich_text

        yield rich_text(diff_text(self._diff(), width=options.max_width, color=True))

    def table(self, *, width: int = 100, color: bool = False) -> str:
        """The diff as ``netinspect diff`` prints it."""
        from netinspect.render.notebook import diff_text

        return diff_text(self._diff(), width=width, color=color)

    def json(self) -> str:
        """``netinspect diff --format json``."""
        from netinspect.render.notebook import diff_json

        return diff_json(self._diff())


class SizesDisplay:
    """Display methods of ``SizesReport`` (what ``find_sizes`` returns)."""

    __slots__ = ()
    _repr_pretty_ = _repr_pretty_

    def _sizes(self) -> SizesReport:
        return cast("SizesReport", self)

    def __repr__(self) -> str:
        from netinspect.render.notebook import sizes_repr

        return sizes_repr(self._sizes())

    def __str__(self) -> str:
        from netinspect.render.notebook import sizes_text

        return sizes_text(self._sizes())

    def _repr_html_(self) -> str:
        from netinspect.render.notebook_html import sizes_html_view

        return sizes_html_view(self._sizes())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from netinspect.render.notebook import rich_text

        yield rich_text(str(self))

    def json(self) -> str:
        """``netinspect sizes --format json``."""
        from netinspect.render.notebook import sizes_json

        return sizes_json(self._sizes())


def forward_failed_traceback(error: ForwardFailed) -> list[str] | None:
    """What IPython shows for a ``ForwardFailed`` (its ``_render_traceback_``): the diagnosis
    and where the partial report is, not the model's traceback. None (the full traceback) when
    ``NETINSPECT_TRACEBACK=1``."""
    if os.environ.get("NETINSPECT_TRACEBACK", "") not in ("", "0"):
        return None
    from netinspect.render.notebook import failure_summary

    return failure_summary(error.report, str(error))
