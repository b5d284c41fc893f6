"""The pytest plugin (entry point ``pytest11``): shape snapshots of models inside your tests.

    def test_net_shapes(netinspect_snapshot):
        netinspect_snapshot(Net(), inputs=torch.zeros(1, 3, 32, 32))
        netinspect_snapshot("models/net.py:Net", inputs=["1x3x64x64"], name="large")

Each call inspects the model (meta device by default, like ``netinspect check``) and compares
what ``check`` compares with a baseline stored beside the test file, in
``__netinspect__/<test module>/<test name>.json`` (the same file format as ``.netinspect/``).
A difference fails the test with the table ``netinspect check`` prints; ``pytest
--netinspect-update`` writes the new state instead (and creates missing baselines). Every
baseline is its own file, written atomically, so pytest-xdist workers never share one.

Nothing here imports torch at import time: ``pip install netinspect`` registers this plugin in
every pytest run, and a project that never asks for the fixture must not pay for torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from netinspect.compare.baseline import CheckResult
    from netinspect.records import InspectionReport

BASELINE_DIR = "__netinspect__"
UPDATE_OPTION = "--netinspect-update"
# user_properties key under which a test hands its created/updated baselines to the summary
# (reports travel from xdist workers to the controller, plain module state would not).
_PROPERTY = "netinspect_baselines"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("netinspect")
    group.addoption(
        UPDATE_OPTION,
        action="store_true",
        default=False,
        help="netinspect_snapshot: write differing or missing shape baselines instead of "
        "failing (review them with git diff, then commit).",
    )


def _test_key(request: pytest.FixtureRequest) -> str:
    """``TestClass::test_name[param]``: the node id without the file part."""
    nodeid: str = request.node.nodeid
    return nodeid.split("::", 1)[-1]


def _width() -> int:
    try:
        return max(60, int(os.environ.get("COLUMNS", "100")))
    except ValueError:
        return 100


class NetinspectSnapshot:
    """The fixture's value: call it once per model (``name=`` tells several calls apart)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._calls = 0
        self._seen: set[str] = set()
        self.update = bool(request.config.getoption("netinspect_update"))
        test_file = Path(request.path)
        self.directory = test_file.parent / BASELINE_DIR / test_file.stem
        self._file_label = test_file.name

    def baseline_path(self, name: str | None = None) -> Path:
        """Where the baseline of this test's call ``name`` lives."""
        from netinspect.compare.baseline import baseline_filename

        return self.directory / baseline_filename(self._key(name))

    def _key(self, name: str | None) -> str:
        key = _test_key(self._request)
        return key if name is None else f"{key}.{name}"

    def __call__(
        self,
        model: Any,
        inputs: Any = None,
        *,
        name: str | None = None,
        device: str = "auto",
        dtype: str | None = None,
        forward_args: Mapping[str, Any] | None = None,
        allow_import: Sequence[str] = (),
    ) -> InspectionReport:
        """Inspect ``model`` (an ``nn.Module`` or any target ``netinspect`` takes: ``vgg16``,
        ``path/file.py:Net``, a YAML config) on ``inputs`` (tensors, a mapping of them, or
        ``--input`` specs such as ``["1x3x32x32"]``) and compare it with its baseline.
        Returns the report, for further assertions."""
        from netinspect.compare.baseline import canonical_target, specs_from_input_records
        from netinspect.compare.check import judge_report, read_baseline_of
        from netinspect.errors import ForwardFailed, NetinspectError
        from netinspect.pipeline.run import inspect_model

        self._calls += 1
        if name is None and self._calls > 1:
            name = str(self._calls)
        key = self._key(name)
        if key in self._seen:
            pytest.fail(f"netinspect_snapshot: {name!r} is used twice in this test", pytrace=False)
        self._seen.add(key)
        label = f"{self._file_label}::{key}"
        target = canonical_target(label)
        path = self.baseline_path(name)
        if isinstance(inputs, str):
            inputs = [inputs]
        # pytest.fail is called outside the except blocks: inside them, pytest would print
        # the chain of torch's internal exceptions above our message.
        failure = ""
        try:
            report = inspect_model(
                model,
                inputs,
                device=device,
                dtype=dtype,
                allow_import=tuple(allow_import),
                forward_args=dict(forward_args) if forward_args else None,
            )
        except ForwardFailed as exc:
            failure = _failure_text(label, exc.report)
        except NetinspectError as exc:
            failure = f"netinspect_snapshot: {label}: {exc}"
        if failure:
            pytest.fail(failure, pytrace=False)
        if isinstance(inputs, Sequence) and all(isinstance(i, str) for i in inputs):
            specs: tuple[str, ...] = tuple(inputs)
        else:
            specs = specs_from_input_records(
                [{"name": i.name, "shape": i.shape, "dtype": i.dtype} for i in report.inputs]
            )
        try:
            baseline = read_baseline_of(path, target)
            if baseline is None and not self.update:
                pytest.fail(
                    f"netinspect_snapshot: {label}: no baseline: {_shown(path)} does not exist "
                    f"(create it with: pytest {UPDATE_OPTION}, then commit it)",
                    pytrace=False,
                )
            result = judge_report(
                path,
                target,
                specs,
                report,
                baseline,
                update=self.update,
                baseline_label=_shown(path),
            )
        except NetinspectError as exc:
            failure = f"netinspect_snapshot: {label}: {exc}"
        if failure:
            pytest.fail(failure, pytrace=False)
        if result.status == "regression":
            pytest.fail(_regression_text(result), pytrace=False)
        if result.status == "failed":
            pytest.fail(f"netinspect_snapshot: {label}: {result.error}", pytrace=False)
        if result.status in ("created", "updated"):
            self._request.node.user_properties.append(
                (_PROPERTY, f"{result.status} {_shown(path)}")
            )
        return report


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _regression_text(result: CheckResult) -> str:
    from netinspect.render import RenderOptions
    from netinspect.render.diff import render_check_table

    text = render_check_table([result], RenderOptions(width=_width(), color=False))
    return f"{text}Accept the new shapes with: pytest {UPDATE_OPTION}"


def _failure_text(label: str, report: InspectionReport) -> str:
    from netinspect.analysis.layers import collapse_repeats
    from netinspect.render import RenderOptions
    from netinspect.render.table import render_table

    message = report.error.message if report.error is not None else ""
    table = render_table(collapse_repeats(report), RenderOptions(width=_width(), color=False))
    return f"netinspect_snapshot: {label}: forward pass failed: {message}\n{table}"


@pytest.fixture
def netinspect_snapshot(request: pytest.FixtureRequest) -> NetinspectSnapshot:
    """Compare a model's shapes with a baseline beside the test (``__netinspect__/``);
    ``pytest --netinspect-update`` accepts the new state."""
    return NetinspectSnapshot(request)


class _Summary:
    """Collects created/updated baselines from every test report (xdist workers included) for
    one block in the terminal summary."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        self.lines += [str(value) for key, value in report.user_properties if key == _PROPERTY]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.lines:
            return
        terminalreporter.section("netinspect baselines")
        for line in sorted(self.lines):
            terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Summary(), "netinspect-summary")
