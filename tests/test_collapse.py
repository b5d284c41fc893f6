"""--collapse, --columns and linear-time capture/analysis."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from netinspect_cli import inspect_cmd  # noqa: F401  (registers the commands)
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.analysis.layers import collapse_repeats, fold_to_depth
from netinspect.pipeline.run import inspect_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.models import tiny_blocks


def _sums_match(full, folded):
    for key in ("params", "flops", "macs", "activation_bytes"):
        assert sum(getattr(r, key) for r in folded.layers) == sum(
            getattr(r, key) for r in full.layers
        )


def test_collapse_resnet50_folds_identical_bottlenecks():
    report = inspect_model("resnet50", device="meta")
    collapsed = collapse_repeats(report)
    runs = {r.name: r.repeat for r in collapsed.layers if r.repeat > 1}
    # Block 0 of each stage has a downsample branch, so blocks 1..n-1 are identical:
    # stages of 3, 4, 6, 3 Bottlenecks.
    assert runs == {"layer1.1–2": 2, "layer2.1–3": 3, "layer3.1–5": 5, "layer4.1–2": 2}
    _sums_match(report, collapsed)
    # Bottleneck(256 -> 64 -> 256): 1x1 256*64, 3x3 64*64*9, 1x1 64*256, 3 BatchNorms.
    block = 256 * 64 + 64 * 64 * 9 + 64 * 256 + 2 * (64 + 64 + 256)
    assert next(r for r in collapsed.layers if r.name == "layer1.1–2").params == 2 * block


def test_collapse_vit_b_16_folds_twelve_encoder_blocks():
    report = inspect_model("vit_b_16", device="meta")
    collapsed = collapse_repeats(report)
    (run,) = [r for r in collapsed.layers if r.repeat > 1]
    assert run.name == "encoder.layers.encoder_layer_0–11" and run.repeat == 12
    d, mlp = 768, 3072
    block = 4 * d * d + 4 * d + 2 * d * mlp + mlp + d + 4 * d  # attention, MLP, two LayerNorms
    # MultiheadAttention uses out_proj's weights without calling it: its row claims them.
    assert run.params == 12 * block
    assert report.totals.uncalled_params == 0
    _sums_match(report, collapsed)


def _inspect_and_collapse(blocks):
    """Seconds to inspect ``blocks`` tiny blocks on meta, collapse and fold them."""
    with torch.device("meta"):
        model = tiny_blocks(blocks)
    start = time.perf_counter()
    report = inspect_model(model, ["1x8"], device="meta")
    assert len(report.layers) == 4 * blocks + 1
    collapsed = collapse_repeats(report)
    assert [r.repeat for r in collapsed.layers] == [1, blocks]
    _sums_match(report, fold_to_depth(report, 1))
    return time.perf_counter() - start


def test_collapse_after_depth_and_on_many_blocks_is_fast():
    # Linear, measured against the same work at a fifth of the size in the same test (a fixed
    # bound in seconds fails under load): 5× the blocks costs about 5× linear, 25× quadratic.
    # The time itself is measured by benchmarks/compare.py (2,500 blocks).
    small = min(_inspect_and_collapse(500) for _ in range(2))
    large = _inspect_and_collapse(2500)
    assert large < 12 * small, (large, small)


def test_cli_columns_and_collapse_defaults():
    runner = CliRunner()
    result = runner.invoke(
        app, ["inspect", "resnet18", "--columns", "params,macs,flops,memory", "--depth", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "MACs" in result.output and "FLOPs" in result.output and "Activations" in result.output
    assert "Input shape" not in result.output
    assert "1–" not in result.output  # resnet18's two blocks per stage differ (downsample)
    markdown = runner.invoke(app, ["inspect", "vit_b_16", "-f", "markdown", "--columns", "flops"])
    assert "`encoder.layers.encoder_layer_0–11` × 12" in markdown.output
    assert "| # | Layer | Type | FLOPs |" in markdown.output
    js = runner.invoke(app, ["inspect", "vit_b_16", "-f", "json"])
    data = json.loads(js.stdout)
    assert all(layer["repeat"] == 1 for layer in data["layers"])  # JSON is not collapsed
    js_collapsed = json.loads(
        runner.invoke(app, ["inspect", "vit_b_16", "-f", "json", "--collapse"]).stdout
    )
    assert len(js_collapsed["layers"]) < len(data["layers"])
    bad = runner.invoke(app, ["inspect", "resnet18", "--columns", "shapes,bogus"])
    assert bad.exit_code == 2
