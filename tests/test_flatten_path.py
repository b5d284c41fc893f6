"""The flatten point on the main path: the batch tracked by a second pass, gates and
shape-only reads left out, the consumer found through Identity/Dropout/norms, "none" with its
reason, and "not reached" after a failed forward (models in tests/models/flatten_models.py)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from netinspect_cli.main import app
from typer.testing import CliRunner

from netinspect import inspect_model
from netinspect.analysis.flatten import find_flatten_point
from netinspect.deserialize import report_from_dict
from netinspect.errors import ForwardFailed
from netinspect.records import InspectionReport
from tests.conftest import MODELS

runner = CliRunner()


def target(name: str) -> str:
    return f"{MODELS / 'flatten_models.py'}:{name}"


def chain(report: InspectionReport) -> list[str]:
    assert report.flatten is not None
    return [c.name for c in report.flatten.consumer_chain]


def check_point(
    report: InspectionReport,
    name: str,
    batch: int,
    head: str,
    in_features: int,
    tracking: str = "input batch",
) -> None:
    """The flatten row, its batch (dim 0 of its input and output, tracked against the inputs'
    batch or by the second pass) and its head with the in_features check."""
    flat = report.flatten
    assert flat is not None and flat.name == name
    assert flat.input_shape[0] == batch and flat.output_shape == (batch, in_features)
    search = report.flatten_search
    assert search is not None and search.batch_size == batch
    assert search.batch_tracking == tracking and search.absent_reason is None
    assert flat.consumer is not None and flat.consumer.name == head
    assert flat.consumer.expected_in_features == in_features and flat.consumer.matches
    assert chain(report)[-1] == head


def test_relative_position_logits_lead_with_batch_times_heads() -> None:
    # Batch 2, 2 heads, a 4x4 map: rel_logits' flatten is [16, 4, 8] -> [16, 32]; its 16 is
    # batch x heads x height. The first-2-D-drop rule took it for the batch.
    report = inspect_model(target("RelPosNet"), ["2x3x8x8"])
    old = find_flatten_point(report.layers)
    assert old is not None and old.name == "stages.0.flatten"
    assert old.input_shape == (2 * 2 * 4, 4, 8)
    # Attention's [B·heads, ...] rows lead into the head: the second pass decides.
    check_point(report, "head.1", batch=2, head="head.2", in_features=8, tracking="second pass")
    assert report.flatten is not None and report.flatten.input_shape == (2, 8, 1, 1)
    assert chain(report) == ["head.2"]


def test_gates_multiplied_back_into_the_map_are_not_the_flatten_point() -> None:
    report = inspect_model(target("GatedNet"), ["3x3x8x8"])
    old = find_flatten_point(report.layers)
    assert old is not None and old.name == "eca.mean"  # the ECA gate's squeeze
    check_point(report, "flatten", batch=3, head="fc", in_features=8)
    assert chain(report) == ["drop", "fc"]


def test_class_attention_inside_the_body_is_not_the_head_selection() -> None:
    report = inspect_model(target("CaitLike"), ["2x3x16x16"])
    old = find_flatten_point(report.layers)
    assert old is not None and old.name == "blocks_token_only.0.__getitem__"
    # 16x16 in 4x4 patches: 16 patch tokens + the class token, dim 16.
    check_point(report, "__getitem__", batch=2, head="head", in_features=16)
    assert report.flatten is not None and report.flatten.input_shape == (2, 17, 16)
    assert report.flatten.operation == "selects"


def test_moe_token_reshape_is_listed_never_the_flatten_point() -> None:
    report = inspect_model(target("MoeLM"), ["2x6:int64"])
    old = find_flatten_point(report.layers)
    assert old is not None and old.name == "layers.0.sum"  # [B*T, E, H] -> [B*T, H]
    assert old.input_shape == (12, 2, 16)
    assert report.flatten is None
    search = report.flatten_search
    assert search is not None and search.batch_size == 2
    assert search.absent_reason == "output [2, 6, 16] keeps the sequence axis"
    assert [(t.name, t.input_shape, t.output_shape) for t in search.token_reshapes] == [
        ("layers.0.view", (2, 6, 16), (2 * 6, 16))
    ]


def test_an_embedding_read_for_its_shape_only_is_no_candidate() -> None:
    report = inspect_model(target("ShapeReadEncoder"), ["2x5x16"])
    old = find_flatten_point(report.layers)
    assert old is not None and old.name == "__getitem__"  # inputs_embeds[:, :, -1]
    check_point(report, "mean", batch=2, head="classifier", in_features=16)
    lm = inspect_model(target("ShapeReadLM"), ["2x5x16"])
    assert lm.flatten is None and lm.flatten_search is not None
    assert lm.flatten_search.absent_reason == "output [2, 5, 16] keeps the sequence axis"


def test_a_recurrent_scan_has_no_flatten_point() -> None:
    report = inspect_model(target("ScanLM"), ["2x5x8"])
    old = find_flatten_point(report.layers)
    assert old is not None and old.name.startswith("mixer.")  # a per-step [B, D] of the scan
    assert report.flatten is None and report.flatten_search is not None
    assert report.flatten_search.absent_reason == "output [2, 5, 8] keeps the sequence axis"


def test_table_says_why_there_is_none_and_lists_token_reshapes() -> None:
    result = runner.invoke(app, ["inspect", target("MoeLM"), "-i", "2x6:int64"])
    assert result.exit_code == 0, result.output
    assert "Flatten point: none (output [2, 6, 16] keeps the sequence axis)" in result.output
    assert (
        "token reshape (not a flatten point): layers.0.view [2, 6, 16] -> [12, 16]" in result.output
    )


def test_after_a_failed_forward_the_flatten_point_was_not_reached() -> None:
    # 4 channels into a 3-channel stem: the pass stops at row 1, before any flatten.
    with pytest.raises(ForwardFailed) as failed:
        inspect_model(target("GatedNet"), ["1x4x8x8"])
    report = failed.value.report
    assert report.flatten is None and report.flatten_search is not None
    assert report.flatten_search.absent_reason == "not reached: the forward failed at stem (row 1)"
    assert report.flatten_search.batch_tracking == "row shapes"
    assert report.flatten_search.batch_note == "the forward failed"
    result = runner.invoke(app, ["inspect", target("GatedNet"), "-i", "1x4x8x8"])
    assert result.exit_code == 3
    assert "Flatten point: not reached: the forward failed at stem (row 1)" in result.output
    assert "no row drops" not in result.output
    # A report saved before flatten_search existed says the same from its error record.
    from netinspect.render import OutputFormat, RenderOptions, render_report

    data = report.to_dict()
    del data["flatten_search"]
    table = render_report(report_from_dict(data), OutputFormat.table, RenderOptions())
    assert "Flatten point: not reached: the forward failed at stem" in table


def test_json_keeps_the_chain_and_search_and_reads_them_back(report_validator: Any) -> None:
    report = inspect_model(target("GatedNet"), ["1x3x8x8"])
    data = report.to_dict()
    report_validator.validate(data)
    assert [c["name"] for c in data["flatten"]["consumer_chain"]] == ["drop", "fc"]
    assert data["flatten_search"]["batch_tracking"] == "input batch"
    back = report_from_dict(data)
    assert back.flatten == report.flatten and back.flatten_search == report.flatten_search
    # A report saved before these keys existed still reads.
    del data["flatten_search"], data["flatten"]["consumer_chain"]
    old = report_from_dict(data)
    assert old.flatten_search is None and old.flatten is not None
    assert old.flatten.consumer_chain == ()


def test_tensors_through_the_api_fall_back_to_row_shapes() -> None:
    import torch

    from tests.models.flatten_models import GatedNet

    report = inspect_model(GatedNet(), torch.zeros(1, 3, 8, 8))
    search = report.flatten_search
    assert search is not None and search.batch_tracking == "row shapes"
    assert search.batch_note == "the inputs are tensors, not specs"
    # The old rule: the first 2-D drop on the data path.
    assert report.flatten is not None and report.flatten.name == "eca.mean"


timm = pytest.importorskip("timm")

VIT = (
    "timm:vit_tiny_patch16_224,img_size=32,depth=1,embed_dim=32,num_heads=2,"
    "global_pool=avg,fc_norm=True,drop_rate=0.1,num_classes=5"
)


def test_timm_vit_head_follows_fc_norm_and_head_drop() -> None:
    report = inspect_model(VIT)
    # 32x32 in 16x16 patches: 4 tokens (the class token is left out of the average).
    check_point(report, "mean", batch=1, head="head", in_features=32, tracking="second pass")
    assert report.flatten is not None and report.flatten.input_shape == (1, 4, 32)
    assert chain(report) == ["fc_norm", "head_drop", "head"]
    types = [c.type for c in report.flatten.consumer_chain]
    assert types == ["LayerNorm", "Dropout", "Linear"]


def test_timm_eca_bottleneck_attention_net_flattens_in_its_head() -> None:
    # ECA gates in every block and bottleneck self-attention with relative positions.
    report = inspect_model("timm:eca_botnext26ts_256")
    old = find_flatten_point(report.layers)
    assert old is not None and old.name.startswith("stages.")
    with __import__("torch").device("meta"):
        model = timm.create_model("eca_botnext26ts_256", pretrained=False)
    features = model.get_classifier().in_features
    check_point(
        report,
        "head.global_pool.flatten",
        batch=1,
        head="head.fc",
        in_features=features,
        tracking="second pass",
    )
    assert math.prod(report.flatten.input_shape[1:]) == features  # type: ignore[union-attr]


def test_markdown_and_page_say_why_there_is_none() -> None:
    from netinspect.render import OutputFormat, RenderOptions, render_report, render_report_dict

    report = inspect_model(target("MoeLM"), ["2x6:int64"])
    reason = "output [2, 6, 16] keeps the sequence axis"
    markdown = render_report(report, OutputFormat.markdown, RenderOptions())
    assert f"**Flatten point:** none ({reason})" in markdown
    page = render_report_dict(report.to_dict(), OutputFormat.html, RenderOptions())
    assert f"none ({reason})" in page


def test_second_pass_comparison_tells_the_batch_from_its_products() -> None:
    from netinspect.pipeline.batch import common_batch, compare_passes
    from netinspect.specs import parse_input_specs
    from tests.records_factory import layer

    # Batch 1 on the first pass, 2 on the second: [B·heads·H, W, 2W-1] with 2 heads and H=4
    # is 8 then 16 (scales, but is not the batch); [B, C, 1, 1] is 1 then 2; a kept 1 stays.
    first = (
        layer(0, "rel", 1, (8, 4, 7), (8, 28)),
        layer(1, "pool", 1, (1, 8, 4, 4), (1, 8, 1, 1)),
        layer(2, "keep", 1, (1, 8), (1, 8)),
    )
    second = (
        layer(0, "rel", 1, (16, 4, 7), (16, 28)),
        layer(1, "pool", 1, (2, 8, 4, 4), (2, 8, 1, 1)),
        layer(2, "keep", 1, (2, 8), (1, 8)),
    )
    dims = compare_passes(first, second, 1, 2)
    assert dims == {0: ((None,), (None,)), 1: ((0,), (0,)), 2: ((0,), (None,))}
    assert common_batch(parse_input_specs(["2x3x8x8", "2x5:int64"])) == 2
    assert common_batch(parse_input_specs(["2x3x8x8", "3x5"])) is None  # no shared batch
    assert common_batch(parse_input_specs(["5"])) is None  # one dim: no batch to tell
    # A list of images (detection models): each [C, H, W], no batch dim.
    assert common_batch(parse_input_specs(["[3x224x224]"])) is None
