"""The pytest plugin (``netinspect_snapshot``), driven through pytest's own ``pytester``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)


@pytest.fixture(scope="module", autouse=True)
def _imported_once() -> None:
    """pytester's in-process runs drop every module a run imported, and torch's (imported
    lazily by the first inspection: torch._dynamo, sympy...) cannot be imported twice in one
    process, and a netinspect module imported anew would bring new exception classes. Every
    netinspect module and one inspection are imported here, before any run, so they stay."""
    import importlib
    import pkgutil

    from torch import nn

    import netinspect
    from netinspect.pipeline.run import inspect_model

    for module in pkgutil.walk_packages(netinspect.__path__, "netinspect."):
        importlib.import_module(module.name)

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(288, 2))
    inspect_model(model, ["1x3x8x8"])


NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(8 * 4 * 4, {classes})

    def forward(self, x):
        return self.head(self.pool(self.conv(x)).flatten(1))
"""

TESTS = """
import torch

from mynets import Net


def test_net(netinspect_snapshot):
    report = netinspect_snapshot(Net(), inputs=torch.zeros(1, 3, 8, 8))
    assert report.outputs == ((1, {classes}),)


def test_spec_string(netinspect_snapshot):
    netinspect_snapshot("mynets.py:Net", inputs=["1x3x8x8"], name="spec")
"""


def write_project(pytester: pytest.Pytester, classes: int = 10) -> None:
    pytester.makepyfile(mynets=NET.format(classes=classes))
    pytester.makepyfile(test_shapes=TESTS.format(classes=classes))


def assert_in_order(text: str, *parts: str) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} not found after position {at} in:\n{text}"
        at = found + len(part)


def baseline_files(pytester: pytest.Pytester) -> list[str]:
    folder = pytester.path / "__netinspect__" / "test_shapes"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_missing_baseline_fails_until_created(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*no baseline*__netinspect__*--netinspect-update*"])
    assert baseline_files(pytester) == []  # nothing is written without the option

    result = pytester.runpytest("--netinspect-update", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*netinspect baselines*",
            "created __netinspect__/test_shapes/test_net.json",
            "created __netinspect__/test_shapes/test_spec_string.spec.json",
        ]
    )
    assert baseline_files(pytester) == ["test_net.json", "test_spec_string.spec.json"]
    # The same format as `netinspect snapshot`: what check compares, keyed by the test.
    data = json.loads((pytester.path / "__netinspect__/test_shapes/test_net.json").read_text())
    assert data["kind"] == "netinspect-baseline"
    assert data["target"] == "test_shapes.py::test_net"
    assert data["inputs"] == ["1x3x8x8:float32"]
    head = next(r for r in data["report"]["layers"] if r["name"] == "head")
    assert head["params"] == 128 * 10 + 10  # Linear(128, 10): weight 128×10 plus bias 10

    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "netinspect baselines" not in result.stdout.str()


def test_shape_change_fails_with_the_check_table_then_update(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.runpytest("--netinspect-update").assert_outcomes(passed=2)

    write_project(pytester, classes=5)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    # The table `netinspect check` prints: the status line, the side-by-side rows, the summary.
    assert_in_order(
        result.stdout.str(),
        "REGRESSION test_shapes.py::test_net: Changed: head (2 changed; 3 layers unchanged)",
        "__netinspect__/test_shapes/test_net.json  ->",
        "changed   head       Linear                Linear",
        "[1,128] -> [1,10]     [1,128] -> [1,5]",
        # Linear(128, n): 128n weights plus n biases.
        "1,290 params          645 params",
        "Output: [1, 10] -> [1, 5]",
        "Total params: 1,514 -> 869 (-645)",
        "Accept the new shapes with: pytest --netinspect-update",
    )

    result = pytester.runpytest("--netinspect-update")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["updated __netinspect__/test_shapes/test_net.json"])
    pytester.runpytest().assert_outcomes(passed=2)


def test_failing_forward_shows_the_diagnosis(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_broken="""
        from torch import nn

        def test_broken(netinspect_snapshot):
            model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(100, 2))
            netinspect_snapshot(model, inputs=["1x3x8x8"])
        """
    )
    result = pytester.runpytest("--netinspect-update")
    result.assert_outcomes(failed=1)
    # Conv2d(3, 8, 3) on 8×8 gives 8×6×6 = 288 features, not 100.
    result.stdout.fnmatch_lines(["*forward pass failed*", "*Failed at*2*", "*288*"])
    # Our message and table only, not the chain of torch's exceptions that led to it.
    assert "During handling of the above exception" not in result.stdout.str()
    assert "direct cause" not in result.stdout.str()
    assert not (pytester.path / "__netinspect__").exists()


def test_several_calls_and_parametrized_tests_get_their_own_files(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_many="""
        import pytest
        from torch import nn

        @pytest.mark.parametrize("width", [4, 8])
        def test_widths(netinspect_snapshot, width):
            netinspect_snapshot(nn.Linear(3, width), inputs=["2x3"])
            netinspect_snapshot(nn.Linear(width, 1), inputs=[f"2x{width}"])
        """
    )
    pytester.runpytest("--netinspect-update").assert_outcomes(passed=2)
    files = sorted(p.name for p in (pytester.path / "__netinspect__" / "test_many").iterdir())
    assert len(files) == 4 and len(set(files)) == 4
    assert all(f.startswith("test_widths_") for f in files)
    pytester.runpytest().assert_outcomes(passed=2)


def test_under_xdist(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    many = "\n".join(
        textwrap.dedent(
            f"""
            def test_width_{w}(netinspect_snapshot):
                netinspect_snapshot(nn.Linear(4, {w}), inputs=["1x4"])
            """
        )
        for w in range(1, 7)
    )
    pytester.makepyfile(test_widths="from torch import nn\n" + many)
    # Baselines in process (fast); then one CI-like run spread over two workers.
    pytester.runpytest("--netinspect-update").assert_outcomes(passed=8)
    write_project(pytester, classes=3)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=6, failed=2)
    out = result.stdout.str()
    assert "2 workers" in out
    assert "REGRESSION test_shapes.py::test_net: Changed: head" in out
    assert "[1,128] -> [1,10]     [1,128] -> [1,3]" in out


def test_plugin_import_does_not_import_torch() -> None:
    code = (
        "import sys, netinspect.pytest_plugin\n"
        "assert 'torch' not in sys.modules, 'the plugin imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_plugin_is_registered_and_lazy_in_a_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_no_torch(request):
            assert request.config.pluginmanager.has_plugin("netinspect")
            assert "torch" not in sys.modules
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_entry_point_is_declared() -> None:
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\nnetinspect = "netinspect.pytest_plugin"' in pyproject
