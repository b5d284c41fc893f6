"""Adaptive pooling that upsamples (its input smaller than its fixed output): a note in the
inspect report (table and JSON) and a warning in ``sizes``, with the threshold size."""

from __future__ import annotations

import json

import pytest
import torch.nn.functional as F
from netinspect_cli import main as _registers_commands  # noqa: F401
from netinspect_cli.app import app
from torch import nn
from typer.testing import CliRunner

from netinspect import inspect_model
from netinspect.analysis.upsampling import upsampling_below, upsampling_notes
from netinspect.pipeline.sizes import find_sizes

from .records_factory import layer


class Pooled(nn.Module):
    """conv 3x3 stride 2 then an adaptive pool to 5x5 (module) and a functional one to 4."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(5)

    def forward(self, x):
        return F.adaptive_max_pool2d(self.avgpool(self.conv(x)), (4, 6)).flatten(1)


def test_notes_name_each_upsampling_row_with_its_sizes() -> None:
    # 9x9 -> conv (9 - 3)//2 + 1 = 4: avgpool 4x4 -> 5x5 upsamples; then 5x5 -> 4x6 (W up).
    report = inspect_model(Pooled(), ["1x3x9x9"])
    ups = [n for n in report.notes if "upsamples" in n]
    assert len(ups) == 2
    assert ups[0].startswith("avgpool (AdaptiveAvgPool2d) upsamples 4×4 → 5×5 by repeating")
    assert "upsamples 5×5 → 4×6" in ups[1]


def test_no_note_when_every_pool_shrinks() -> None:
    # 25x25 -> conv 12x12 -> 5x5 -> 4x6: only the functional pool's W (5 -> 6) still grows.
    report = inspect_model(Pooled(), ["1x3x25x25"])
    ups = [n for n in report.notes if "upsamples" in n]
    assert ups == [next(n for n in ups if "5×5 → 4×6" in n)]
    report = inspect_model(nn.Sequential(nn.AdaptiveAvgPool2d(2)), ["1x3x4x4"])
    assert not [n for n in report.notes if "upsamples" in n]


def test_notes_from_hand_built_rows_include_1d() -> None:
    rows = [
        layer(0, "pool", 1, (1, 8, 3), (1, 8, 10), type="AdaptiveAvgPool1d"),
        layer(1, "same", 1, (1, 8, 10), (1, 8, 10), type="AdaptiveAvgPool1d"),
    ]
    (note,) = upsampling_notes(rows)
    assert note.startswith("pool (AdaptiveAvgPool1d) upsamples 3 → 10")


def test_table_and_json_carry_the_note() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["inspect", "vgg11", "-i", "1x3x100x100"], catch_exceptions=False)
    assert result.exit_code == 0
    # 100 -> five 2x2 max pools: 50, 25, 12, 6, 3; avgpool fixes 7x7.
    assert "avgpool (AdaptiveAvgPool2d) upsamples 3×3 → 7×7" in " ".join(result.stdout.split())
    data = json.loads(
        runner.invoke(app, ["inspect", "vgg11", "-i", "1x3x100x100", "-f", "json"]).stdout
    )
    assert any("upsamples 3×3 → 7×7" in n for n in data["notes"])


@pytest.mark.parametrize(
    ("formula", "fixed", "minimum", "expected"),
    [
        ("H//32", "7", 32, "H, W < 224"),  # 7·32
        ("(H - 3)//2 + 1", "5", 3, "H, W < 11"),  # (11 - 3)//2 + 1 = 5, (10 - 3)//2 + 1 = 4
        ("H//32", "1", 32, None),  # reaching 1 needs 32: the minimum already
    ],
)
def test_threshold_from_formulas(
    formula: str, fixed: str, minimum: int, expected: str | None
) -> None:
    other = formula.replace("H", "W")
    keys = [("avgpool", 0, "AdaptiveAvgPool2d")]
    shapes = [((("1", "8", formula, other),), (("1", "8", fixed, fixed),))]
    text = upsampling_below(keys, shapes, {"H": 224, "W": 224}, {"H": minimum, "W": minimum})
    if expected is None:
        assert text is None
    else:
        assert text == (
            f"at {expected}, avgpool (AdaptiveAvgPool2d) upsamples to {fixed}×{fixed} "
            "by repeating values"
        )


def test_sizes_warns_below_the_threshold() -> None:
    report = find_sizes("vgg11", "1x3xHxW", hints={"H": 64, "W": 64})
    # Five 2x2 max pools: H//32 reaches 7 at 224.
    assert report.upsampling == (
        "at H, W < 224, avgpool (AdaptiveAvgPool2d) upsamples to 7×7 by repeating values"
    )
    assert report.summary.endswith(report.upsampling)
