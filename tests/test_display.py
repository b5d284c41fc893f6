"""Reports, diffs and sizes show themselves: ``repr`` is one line, ``str`` is the CLI's table,
the notebook HTML holds every row and no script, and the rendering methods take the CLI's
options. Hand-built records where the model does not matter; resnet18 on meta where it does."""

from __future__ import annotations

import dataclasses
import html
import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from netinspect.analysis.sizes import DimSizes, SizesReport
from netinspect.compare.reports import compare_reports
from netinspect.errors import ForwardFailed
from netinspect.render import OutputFormat, RenderOptions, render_report
from netinspect.render.options import Column
from netinspect.render.table import render_table
from tests.records_factory import report_of, small_cnn_layers


def small_report():  # type: ignore[no-untyped-def]
    return report_of(small_cnn_layers())


def test_repr_is_one_short_line_naming_model_rows_params_output_and_flatten() -> None:
    report = small_report()
    text = repr(report)
    assert "\n" not in text and len(text) < 200
    total = sum(x.params for x in report.layers)  # independent of the totals record
    assert f"{total:,} params" in text
    assert f"{len(report.layers)} rows" in text
    assert "output [1, 10]" in text
    assert "flatten at head.0 [1, 4, 2, 2] -> [1, 16]" in text


def test_str_is_the_cli_table_without_colour() -> None:
    report = small_report()
    cli = render_table(report, RenderOptions(width=100))
    assert str(report) == cli
    assert "\x1b[" not in str(report)
    assert "◀ flatten" in str(report)


def test_pretty_printer_gives_the_table() -> None:
    pretty = pytest.importorskip("IPython.lib.pretty")
    report = small_report()
    assert pretty.pretty(report) == str(report)


def test_rich_console_prints_the_table_at_its_width() -> None:
    report = small_report()
    buffer = io.StringIO()
    Console(file=buffer, width=90, color_system=None).print(report)
    lines = buffer.getvalue().splitlines()
    assert any("head.0" in line or "0 ◀ flatten" in line for line in lines)
    assert "Total params" in buffer.getvalue()
    assert max(len(line) for line in lines) <= 90


def _visible(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def test_html_view_has_every_row_the_flatten_row_and_no_script() -> None:
    report = small_report()
    view = report._repr_html_()
    assert "<script" not in view.lower() and "<style" not in view.lower()
    assert "http://" not in view and "https://" not in view  # no external assets
    text = _visible(view)
    for row in report.layers:
        assert f'title="{row.name or "(root)"}"' in view, row.name
        for shape in row.output_shapes:
            assert "[" + ", ".join(map(str, shape)) + "]" in text
    flat = re.search(r'<tr style="[^"]*background:[^"]*">(.*?)</tr>', view)
    assert flat is not None and "◀ flatten" in flat.group(1) and "head.0" in flat.group(1)
    assert "Flatten point:" in text and "Total params" in text
    # Nothing fixes the text colour: it inherits the notebook theme's.
    assert not re.search(r"(?<![-\w])color:\s*#", view)


def test_html_view_escapes_names() -> None:
    rows = list(small_cnn_layers())
    rows[2] = dataclasses.replace(rows[2], name="features.<img src=x onerror=alert(1)>")
    view = report_of(tuple(rows))._repr_html_()
    assert "<img" not in view and "&lt;img" in view


def test_rendering_methods_match_the_cli_renderers() -> None:
    report = small_report()
    assert report.json() == render_report(report, OutputFormat.json, RenderOptions())
    assert json.loads(report.json())["totals"]["params"] == report.totals.params
    assert report.markdown().startswith("### net (Net)")
    assert "**`head.0` ◀ flatten**" in report.markdown()
    assert report.mermaid().lstrip().startswith(("flowchart", "graph", "%%"))
    page = report.html()
    assert page.lstrip().lower().startswith("<!doctype html")
    shallow = report.table(depth=1, columns="shapes,flops")
    assert "FLOPs" in shallow and "Params" not in shallow.split("\n", 4)[2]
    shown = {int(m) for m in re.findall(r"^\s*(\d+)\s", shallow.split("Flatten")[0], re.M)}
    assert shown == {r.index for r in report.layers if r.depth <= 1}
    assert report.table(columns=[Column.params]) == report.table(columns=["params"])
    with pytest.raises(ValueError, match="unknown column"):
        report.table(columns="kernel")


def test_to_html_writes_the_page_and_show_graph_frames_it(tmp_path: Path) -> None:
    report = small_report()
    path = report.to_html(tmp_path / "net.html")
    assert Path(path).read_text(encoding="utf-8") == report.html()
    frame = report.show_graph()._repr_html_()
    assert frame.startswith("<iframe") and 'sandbox="allow-scripts"' in frame
    assert "allow-same-origin" not in frame
    assert html.unescape(frame.split('srcdoc="', 1)[1].rsplit('"', 1)[0]) == report.html()


def test_display_options_are_the_default_view_and_never_compared() -> None:
    from netinspect.records import DisplayOptions

    report = small_report()
    viewed = dataclasses.replace(report, display=DisplayOptions(depth=1, columns=("macs",)))
    assert viewed == report
    assert viewed.to_dict() == report.to_dict()
    assert str(viewed) == report.table(depth=1, columns="macs")


def test_diff_displays() -> None:
    old = small_report()
    rows = list(small_cnn_layers())
    rows[8] = dataclasses.replace(rows[8], output_shapes=((1, 12),), params=204)
    new = report_of(tuple(rows))
    diff = compare_reports(old, new)
    assert diff.is_regression
    one = repr(diff)
    assert "\n" not in one and "changed" in one
    assert "head.2" in str(diff) and "\x1b[" not in str(diff)
    view = diff._repr_html_()
    assert "<script" not in view.lower() and "head.2" in view and "[1,12]" in _visible(view)
    assert json.loads(diff.json()) == json.loads(json.dumps(diff.to_dict()))
    same = compare_reports(old, old)
    assert "no differences" in repr(same)


def _sizes() -> SizesReport:
    dim = DimSizes(
        dim=2,
        label="H",
        given=224,
        probed_up_to=448,
        accepted=((32, 448),),
        minimum=32,
        maximum=None,
        step=1,
        output_depends=False,
        output_samples=(),
        below_minimum="Conv2d conv1: input smaller than the window",
        above_maximum=None,
    )
    return SizesReport(
        model="net",
        input_shape=(1, 3, 224, 224),
        mode="eval",
        device="meta",
        dims=(dim,),
        outputs=((1, 10),),
        output_constant=True,
        fixed_by=None,
        probes=12,
        seconds=0.5,
        summary="net (eval mode): H ≥ 32; the output is always [1, 10]",
    )


def test_sizes_display() -> None:
    sizes = _sizes()
    assert repr(sizes).startswith("<SizesReport net") and "\n" not in repr(sizes)
    assert str(sizes).startswith("net (eval mode): H ≥ 32")
    view = sizes._repr_html_()
    assert "<script" not in view and "H ≥ 32" in html.unescape(view)
    assert json.loads(sizes.json())["model"] == "net"


def test_forward_failed_renders_the_diagnosis_for_ipython(monkeypatch: pytest.MonkeyPatch) -> None:
    from netinspect.records import ErrorRecord

    error = ErrorRecord(8, "head.2", "module", "Linear", "net.py:12", ((1, 16),), "[*, 12]",
                        "Linear head.2 expects 12 features, got 16", "use nn.Linear(16, 10)",
                        "RuntimeError", "mat1 and mat2 shapes cannot be multiplied")  # fmt: skip
    report = dataclasses.replace(small_report(), error=error, flatten=None)
    exc = ForwardFailed(error.message, report)
    lines = exc._render_traceback_()
    assert lines[0] == "ForwardFailed: Linear head.2 expects 12 features, got 16"
    text = "\n".join(lines)
    assert "Failed at" in text and "net.py:12" in text and "err.report" in text
    assert not any(line.startswith("Traceback") for line in lines)
    monkeypatch.setenv("NETINSPECT_TRACEBACK", "1")
    with pytest.raises(NotImplementedError):
        exc._render_traceback_()  # IPython then shows the whole traceback
    view = report._repr_html_()
    assert "Forward pass failed" in view and "✖ failed here" in view
    assert "not reached" in view
