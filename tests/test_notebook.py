"""A real notebook, executed by nbclient on an IPython kernel, as a new user would run it: the
outputs' mime bundles are read back and checked (what Jupyter, JupyterLab and VS Code show).

resnet18 is built on the meta device, so the whole notebook runs in a few seconds after the
kernel starts."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient)")
pytest.importorskip("ipykernel", reason="pip install -e '.[test]' (ipykernel)")

ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    # 0: setup, no output expected
    "import torch, torchvision, netinspect\n"
    "with torch.device('meta'):\n"
    "    model = torchvision.models.resnet18(weights=None)\n"
    "    model10 = torchvision.models.resnet18(weights=None, num_classes=10)",
    # 1: the report as a cell's last expression
    "report = netinspect.inspect_model(model, (1, 3, 224, 224))\nreport",
    # 2: print(report)
    "print(report)",
    # 3: torchinfo's habit
    "from netinspect import summary\nsummary(model, input_size=(1, 3, 224, 224))",
    # 4: a diff
    "netinspect.compare_reports(report, netinspect.inspect_model(model10, (1, 3, 224, 224)))",
    # 5: a failing forward (3-D input for a Conv2d model)
    "netinspect.inspect_model(model, (3, 224, 224))",
    # 6: the facts the test compares against, from the same kernel
    "import json\n"
    "s = summary(model, input_size=(1, 3, 224, 224))\n"
    "print(json.dumps({'rows': [[r.name, [list(x) for x in r.input_shapes],\n"
    "                            [list(x) for x in r.output_shapes]] for r in report.layers],\n"
    "                  'flatten': report.flatten.name,\n"
    "                  'same_totals': s.totals == report.totals,\n"
    "                  'same_shapes': [(r.name, r.output_shapes) for r in s.layers]\n"
    "                                 == [(r.name, r.output_shapes) for r in report.layers],\n"
    "                  'params': sum(p.numel() for p in model.parameters()),\n"
    "                  'total': report.totals.params}))",
]


def _kernel_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec for this interpreter (the test's own environment), whatever else is
    installed."""
    spec = tmp_path / "kernels" / "netinspect-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "netinspect test", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return "netinspect-test"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp_path = tmp_path_factory.mktemp("nb")
    monkeypatch = pytest.MonkeyPatch()
    try:
        kernel = _kernel_spec(tmp_path, monkeypatch)
        monkeypatch.delenv("NETINSPECT_TRACEBACK", raising=False)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
        nb.cells[5].metadata["tags"] = ["raises-exception"]
        client = nbclient.NotebookClient(
            nb,
            kernel_name=kernel,
            timeout=240,
            resources={"metadata": {"path": str(ROOT)}},
        )
        client.execute()
        return nb
    finally:
        monkeypatch.undo()


def _outputs(nb: Any, index: int) -> list[Any]:
    return list(nb.cells[index].outputs)


def _result(nb: Any, index: int) -> dict[str, str]:
    results = [o for o in _outputs(nb, index) if o.output_type == "execute_result"]
    assert len(results) == 1, _outputs(nb, index)
    return dict(results[0].data)


def _facts(nb: Any) -> dict[str, Any]:
    text = "".join(o.text for o in _outputs(nb, 6) if o.output_type == "stream")
    return json.loads(text)  # type: ignore[no-any-return]


def test_nothing_leaks_into_cell_outputs(executed: Any) -> None:
    # No progress or warnings on stderr, no second table from summary() (verbose defaults to
    # 0 where the report displays itself).
    for index in (0, 1, 3, 4):
        streams = [o for o in _outputs(executed, index) if o.output_type == "stream"]
        assert streams == [], (index, streams)


def test_the_report_displays_as_a_short_repr_and_an_html_view(executed: Any) -> None:
    data = _result(executed, 1)
    plain = data["text/plain"]
    assert len(plain.encode()) < 2048 and plain.startswith("<InspectionReport ResNet")
    assert "11,689,512 params" in plain
    view = data["text/html"]
    assert "<script" not in view.lower()
    visible = html.unescape(re.sub(r"<[^>]+>", " ", view))
    facts = _facts(executed)
    for name, inputs, outputs in facts["rows"]:
        assert f'title="{html.escape(name or "(root)")}"' in view, name
        for shape in inputs + outputs:
            assert "[" + ", ".join(map(str, shape)) + "]" in visible, (name, shape)
    flatten_row = next(row for row in re.findall(r"<tr [^>]*>.*?</tr>", view) if "◀ flatten" in row)
    assert f'title="{facts["flatten"]}"' in flatten_row
    assert "Flatten point:" in visible and "Total params" in visible
    assert facts["total"] == facts["params"]


def test_print_shows_the_table(executed: Any) -> None:
    printed = "".join(o.text for o in _outputs(executed, 2) if o.output_type == "stream")
    assert "Input shape" in printed and "Output shape" in printed and "◀ flatten" in printed
    assert "Total params          11,689,512" in printed
    assert "\x1b[" not in printed


def test_summary_with_input_size_matches_inspect_model(executed: Any) -> None:
    data = _result(executed, 3)
    assert data["text/plain"] == _result(executed, 1)["text/plain"]  # the same one-line repr
    assert "text/html" in data and "<script" not in data["text/html"].lower()
    facts = _facts(executed)
    assert facts["same_totals"] and facts["same_shapes"]


def test_a_diff_displays(executed: Any) -> None:
    data = _result(executed, 4)
    assert data["text/plain"].startswith("<ReportDiff") and len(data["text/plain"]) < 2048
    view = html.unescape(data["text/html"])
    assert "fc" in view and "[1,10]" in view and "[1,1000]" in view
    assert "<script" not in view.lower()


def test_a_failed_forward_shows_the_diagnosis_not_a_traceback_wall(executed: Any) -> None:
    errors = [o for o in _outputs(executed, 5) if o.output_type == "error"]
    assert len(errors) == 1
    lines = errors[0].traceback
    text = "\n".join(lines)
    assert errors[0].ename == "ForwardFailed"
    assert lines[0].startswith("ForwardFailed: ") and "Failed at" in text
    assert len(lines) < 15 and "site-packages" not in text and "File " not in text
    assert "--input" not in text  # Python's words in a Python session
