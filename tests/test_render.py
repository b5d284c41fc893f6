"""Each renderer on hand-built records; JSON against the shipped schema."""

from __future__ import annotations

import json
from typing import Any

from netinspect.deserialize import report_from_dict
from netinspect.render import OutputFormat, RenderOptions, render_report
from netinspect.serialize import report_to_dict
from tests.records_factory import report_of, small_cnn_layers

PLAIN = RenderOptions(width=100, color=False)


def test_table_marks_flatten_frozen_and_totals() -> None:
    text = render_report(report_of(small_cnn_layers()), OutputFormat.table, PLAIN)
    assert "\x1b[" not in text  # no colour codes when not asked
    flatten_line = next(line for line in text.splitlines() if "◀ flatten" in line)
    assert "Flatten" in flatten_line and "[1,4,2,2]" in flatten_line and "[1,16]" in flatten_line
    assert "170 (frozen)" in text
    assert "Flatten point: Flatten (head.0, row 6)" in text
    assert "[1, 4, 2, 2] -> [1, 16] = 4×2×2 = 16" in text
    assert "feeds head.2 Linear(in_features=16): sizes agree" in text
    assert "Total params          282" in text
    assert "Non-trainable params  170" in text


def test_table_fits_80_columns() -> None:
    text = render_report(report_of(small_cnn_layers()), OutputFormat.table, RenderOptions(width=80))
    assert max(len(line) for line in text.splitlines()) <= 80


def test_table_colour_only_when_asked() -> None:
    text = render_report(
        report_of(small_cnn_layers()), OutputFormat.table, RenderOptions(color=True)
    )
    assert "\x1b[" in text


def test_markdown_is_a_pr_comment() -> None:
    text = render_report(report_of(small_cnn_layers()), OutputFormat.markdown, PLAIN)
    table_rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table_rows) == 1 + 9  # header + one per layer
    assert "**`head.0` ◀ flatten**" in text
    assert "- **Total params:** 282" in text


def test_json_is_the_dict_and_validates(report_validator: Any) -> None:
    report = report_of(small_cnn_layers())
    text = render_report(report, OutputFormat.json, PLAIN)
    data = json.loads(text)
    assert data == report.to_dict()
    report_validator.validate(data)
    assert list(data) == [
        "schema_version", "netinspect_version", "model", "device", "dtype", "inputs", "layers",
        "flatten", "outputs", "output_names", "data_dependent_outputs", "totals", "error", "notes",
        "environment",
    ]  # fmt: skip


def test_dict_round_trip() -> None:
    report = report_of(small_cnn_layers())
    assert report_from_dict(json.loads(json.dumps(report_to_dict(report)))) == report


def test_renderers_do_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from tests.records_factory import report_of, small_cnn_layers; "
        "from netinspect.render import render_report, OutputFormat, RenderOptions; "
        "r = report_of(small_cnn_layers()); "
        "[render_report(r, f, RenderOptions()) for f in OutputFormat]; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_numbers_are_never_cropped_on_a_narrow_terminal() -> None:
    from netinspect.render import Column

    report = report_of(small_cnn_layers())
    everything = tuple(Column)
    text = render_report(report, OutputFormat.table, RenderOptions(width=50, columns=everything))
    for layer in report.layers:
        assert f"[1,{','.join(map(str, layer.output_shapes[0][1:]))}]" in text
    assert "170 (frozen)" in text and "Activations" in text
