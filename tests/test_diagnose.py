"""Failure diagnosis: the failing row, what it expected and the hint, with exact numbers.

Every expected number is derived here by hand from the architecture, not copied from output.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands)
import pytest
import torch
import torchvision
from netinspect_cli.app import app
from torch import nn
from typer.testing import CliRunner

from netinspect.analysis.diagnose import diagnose_failure
from netinspect.errors import ForwardFailed
from netinspect.pipeline.run import inspect_model
from netinspect.records import ErrorRecord, LayerRecord

MODELS = Path(__file__).parent / "models"
RESNET_BROKEN = f"{MODELS / 'resnet18_broken.py'}:ResNet18"


def failure(model: nn.Module | str, spec: str) -> ErrorRecord:
    with pytest.raises(ForwardFailed) as info:
        inspect_model(model, inputs=[spec], device="meta")
    error = info.value.report.error
    assert error is not None
    assert str(info.value) == error.message
    return error


def meta_vgg16(avgpool: nn.Module | None = None) -> nn.Module:
    with torch.device("meta"):
        model = torchvision.models.vgg16(weights=None)
        if avgpool is not None:
            model.avgpool = avgpool
    return model


def test_seed_resnet18_names_the_stage_and_suggests_a_projection() -> None:
    error = failure(RESNET_BROKEN, "1x3x32x32")
    # conv1 keeps 32x32 and 64 channels; layer2's first block has stride 2 and 128 channels.
    assert error.type == "Tensor.add"
    assert error.input_shapes == ((1, 128, 16, 16), (1, 64, 32, 32))
    assert error.message == (
        "layer2 output [1,128,16,16] cannot be added to its input [1,64,32,32]: "
        "channels 128 vs 64, size 16 vs 32"
    )
    assert error.hint is not None
    assert error.hint.startswith("add a projection shortcut (1×1 conv, stride 2)")
    assert "nn.Conv2d(64, 128, 1, stride=2, bias=False)" in error.hint
    assert error.source == "resnet18_broken.py:44" or error.source.endswith("resnet18_broken.py:44")


class Residual(nn.Module):
    """Like a config's residual block: ``body(x) + shortcut(x)``."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.body(x) + skip


def test_add_inside_a_residual_module_names_body_and_input() -> None:
    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1),
            Residual(nn.Sequential(nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU())),
        )
    error = failure(model, "1x3x32x32")
    assert error.name == "1.add"
    assert error.message == (
        "1.body output [1,128,16,16] cannot be added to its input [1,64,32,32]: "
        "channels 128 vs 64, size 16 vs 32"
    )
    assert error.hint is not None and "(1×1 conv, stride 2)" in error.hint


def test_add_with_a_wrong_shortcut_module_names_both_producers() -> None:
    with torch.device("meta"):
        model = Residual(nn.Conv2d(8, 16, 3, padding=1), shortcut=nn.Conv2d(8, 32, 1))
    error = failure(model, "2x8x10x10")
    assert error.message == (
        "body output [2,16,10,10] cannot be added to shortcut output [2,32,10,10]: channels 16 vs 32"
    )


def test_vgg16_keypoint_head_with_wrong_linear() -> None:
    head = nn.Sequential(nn.Conv2d(512, 512, 3), nn.MaxPool2d(2), nn.Flatten())
    model = meta_vgg16(head)
    with torch.device("meta"):
        model.classifier = nn.Sequential(
            nn.Linear(4608, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 136), nn.Sigmoid()
        )
    error = failure(model, "1x3x224x224")
    # 224 / 2**5 = 7; conv 3x3 no padding: 5; MaxPool2d(2): 2 -> 512*2*2 = 2048.
    # 4608 / 512 = 9 = 3*3.
    assert error.name == "classifier.0"
    assert error.message == (
        "Linear classifier.0: flatten (avgpool.2) produced 512×2×2 = 2048; "
        "Linear expects 4608 = 512×3×3"
    )
    assert error.expected == "last dim 4608 (in_features=4608), got [1,2048]"
    # An adaptive pool to 3x3 after the 2x2 map would upsample it; the MaxPool2d that made
    # the 2x2 map gets 5x5 (>= 3x3): that is the pool to change.
    assert error.hint == (
        "set in_features=2048, use nn.LazyLinear, "
        "or replace avgpool.1 (MaxPool2d) with nn.AdaptiveMaxPool2d((3, 3))"
    )


def test_vgg16_without_adaptive_pool_on_256() -> None:
    error = failure(meta_vgg16(nn.Identity()), "1x3x256x256")
    # 256 / 32 = 8 -> 512*8*8 = 32768; the classifier wants 512*7*7 = 25088.
    assert error.message == (
        "Linear classifier.0: flatten produced 512×8×8 = 32768; Linear expects 25088 = 512×7×7"
    )
    assert error.hint is not None
    assert error.hint.startswith(
        "set in_features=32768, use nn.LazyLinear, or add nn.AdaptiveAvgPool2d"
    )
    assert error.source == "torchvision/models/vgg.py:69"


def test_alexnet_on_16x16_pool_window_bigger_than_input() -> None:
    error = failure("alexnet", "1x3x16x16")
    # conv 11x11 s4 p2: floor((16+4-11)/4)+1 = 3; maxpool 3 s2: floor((3-3)/2)+1 = 1;
    # conv 5x5 p2 keeps 1; features.5 maxpool 3x3 then sees 1x1.
    assert error.name == "features.5"
    assert error.input_shapes == ((1, 192, 1, 1),)
    assert error.message == "MaxPool2d features.5: input 1×1 is smaller than the 3×3 window"
    assert error.expected == "an input of at least 3×3"
    # Back from 3: maxpool (3-1)*2+3 = 7; conv (7-1)*4+11-2*2 = 31 reaches features.5; the
    # last pool (features.12) needs 3 too: 7 before features.5, 15 before the first pool,
    # (15-1)*4+11-4 = 63, which the hint names after running it.
    with pytest.raises(ForwardFailed) as info:
        inspect_model("alexnet", ["1x3x16x16"])
    layers = info.value.report.layers
    assert diagnose_failure(layers, 7, "RuntimeError", "").min_input == (31, 31)
    assert error.hint is not None and "the model takes at least 63×63 (checked" in error.hint


def test_channel_mismatch_names_the_producer() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(32, 8, 3))
    error = failure(model, "1x3x32x32")
    assert error.message == "Conv2d 2 expects 32 input channels, got 16 (input [1,16,30,30])"
    assert error.hint == "0 (Conv2d) outputs 16 channels: set in_channels=16, or use nn.LazyConv2d"


def test_int64_input_to_a_conv_net() -> None:
    error = failure("alexnet", "1x3x224x224:int64")
    assert error.name == "features.0"
    assert (
        error.message
        == "Conv2d features.0 got an int64 input [1,3,224,224]; its weights are float32"
    )
    assert error.expected == "a float32 input"
    assert error.hint is not None and ".float()" in error.hint


@pytest.mark.parametrize(
    ("norm", "message"),
    [
        (nn.BatchNorm2d(32), "BatchNorm2d 1 expects 32 channels, got 16 (input [1,16,6,6])"),
        (nn.GroupNorm(4, 32), "GroupNorm 1 expects 32 channels, got 16 (input [1,16,6,6])"),
        (
            nn.LayerNorm([16, 5, 5]),
            "LayerNorm 1 normalizes the last 3 dim(s) [16,5,5], but the input [1,16,6,6] ends in [16,6,6]",
        ),
    ],
)
def test_norm_expectations(norm: nn.Module, message: str) -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 16, 3), norm.to("meta"))
    assert failure(model, "1x3x8x8").message == message


def test_cat_names_the_dims_that_disagree() -> None:
    class Join(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, x[:, :, ::2, ::2]], dim=1)

    error = failure(Join(), "1x3x8x8")
    # x[:, :, ::2, ::2] halves H and W: 8 -> 4 each; both dims are named, not a single "size".
    assert error.message == (
        "cat(): operand 0 (the model input [1,3,8,8]) and operand 1 (__getitem__() output "
        "[1,3,4,4]) differ (H 8 vs 4, W 8 vs 4); "
        "cat needs equal sizes in every dim but the one it joins along"
    )


class TwoBranches(nn.Module):
    """Two convs on one 16×16 input: 3×3 gives 16 − 2 = 14, 5×5 gives 16 − 4 = 12."""

    def __init__(self, join: str) -> None:
        super().__init__()
        self.join = join
        self.small = nn.Conv2d(3, 8, 3)
        self.large = nn.Conv2d(3, 8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [self.small(x), self.large(x)]
        return torch.cat(parts, dim=1) if self.join == "cat" else torch.stack(parts)


@pytest.mark.parametrize(
    ("join", "rule"),
    [
        ("cat", "cat needs equal sizes in every dim but the one it joins along"),
        ("stack", "stack needs equal shapes"),
    ],
)
def test_cat_and_stack_name_the_module_behind_each_operand(join: str, rule: str) -> None:
    error = failure(TwoBranches(join), "1x3x16x16")
    assert error.message == (
        f"{join}(): operand 0 (small output [1,8,14,14]) and operand 1 (large output "
        f"[1,8,12,12]) differ (H 14 vs 12, W 14 vs 12); {rule}"
    )


@pytest.mark.parametrize("spec", ["[3x4:int64,3x5]", "x=[3x4]"])
def test_a_list_fed_to_a_conv_is_named_as_such(spec: str) -> None:
    error = failure("resnet18", spec)
    # resnet18's conv1 is Conv2d(3, 64, 7): one N×3×H×W tensor.
    leaves = "2 tensors ([3,4] [3,5])" if spec.startswith("[") else "1 tensor ([3,4])"
    assert error.message == (
        f"Conv2d conv1 received a list/tuple of {leaves} where one tensor was expected"
    )
    assert error.hint == "pass one tensor: --input 1x3x224x224"


def test_a_list_in_the_records_is_found_without_torch_text() -> None:
    layers = (
        row(0, "", "Net", (3, 4), None),
        row(1, "fc", "Linear", (3, 4), None, in_features=4, out_features=2),
    )
    layers = (layers[0], dataclasses.replace(layers[1], input_shapes=((3, 4), (3, 4))))
    d = diagnose_failure(layers, 1, "TypeError", "something unrelated")
    assert (
        d.message
        == "Linear fc received a list/tuple of 2 tensors ([3,4] [3,4]) where one tensor was expected"
    )
    assert d.hint == "pass one tensor: --input 1x4"


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nonzero(x > 0)


def test_a_user_module_on_meta_gets_past_nonzero_with_its_real_inputs() -> None:
    # --device meta on the user's own module: weights stay on meta, the input is real.
    with torch.device("meta"):
        model = DataDependent()
    report = inspect_model(model, inputs=["1x3x8x8"], device="meta")
    assert report.error is None and report.device == "meta"
    assert report.outputs == ((0, 4),)  # no zero is > 0
    assert report.data_dependent_outputs == (0,)


def test_torch_text_about_meta_is_never_read_as_a_diagnosis() -> None:
    # Meta limits are the device policy's business; the diagnosis reads records only.
    layers = (row(0, "", "Net", (3, 4), None),)
    d = diagnose_failure(
        layers, 0, "NotImplementedError",
        "aten::masked_select: attempted to run this operator with Meta tensors\nmore",
        device="meta",
    )  # fmt: skip
    assert d.message == (
        "Net (root) raised NotImplementedError: "
        "aten::masked_select: attempted to run this operator with Meta tensors"
    )


def test_conv1d_window_speaks_of_length_and_kernel_size() -> None:
    with torch.device("meta"):
        model = nn.Sequential()
        model.add_module("c", nn.Conv1d(2, 4, 5))
    # A length-4 input is one short of the 5 taps.
    assert failure(model, "1x2x4").message == (
        "Conv1d c: input length 4 is smaller than the kernel size 5"
    )


# --- the pure function on hand-built rows -----------------------------------------------------


def row(
    index: int,
    name: str,
    type_: str,
    inp: tuple[int, ...],
    out: tuple[int, ...] | None,
    **attrs: object,
) -> LayerRecord:
    return LayerRecord(
        index=index, name=name, kind="module", type=type_, depth=1 if name else 0,
        parent="" if name else None, call_index=0, input_shapes=(inp,),
        output_shapes=(out,) if out else (), input_dtypes=("float32",), attributes=attrs,
    )  # fmt: skip


def test_pure_linear_without_flatten_and_unknown_failures() -> None:
    layers = (
        row(0, "", "Net", (2, 1800), None),
        row(1, "fc", "Linear", (2, 1800), None, in_features=100, out_features=10),
    )
    d = diagnose_failure(
        layers, 1, "RuntimeError", "mat1 and mat2 shapes cannot be multiplied (2x1800 and 100x10)"
    )
    assert (
        d.message
        == "Linear fc expects a last dim of 100 (in_features), got 1800 from input [2,1800]"
    )
    assert d.hint == "set in_features=1800, or use nn.LazyLinear"
    unknown = diagnose_failure(layers[:1], 0, "ValueError", "boom\nmore")
    assert unknown == type(unknown)(None, "Net (root) raised ValueError: boom", None)


# --- rendering and the CLI --------------------------------------------------------------------


def test_cli_table_json_markdown_show_the_failure_block() -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["inspect", RESNET_BROKEN, "--input", "1x3x32x32"])
    assert table.exit_code == 3
    assert "Forward pass failed" in table.stdout
    assert "✖ failed here" in table.stdout
    assert "add a projection shortcut" in table.stdout
    assert "Traceback" not in table.output

    result = runner.invoke(app, ["inspect", "alexnet", "--input", "1x3x16x16", "--format", "json"])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert (
        doc["error"]["message"] == "MaxPool2d features.5: input 1×1 is smaller than the 3×3 window"
    )
    assert doc["error"]["expected"] == "an input of at least 3×3"
    assert doc["error"]["layer_index"] == len(doc["layers"]) - 1
    from jsonschema import validate

    from netinspect.schema import report_schema

    validate(doc, report_schema())

    md = runner.invoke(app, ["inspect", "alexnet", "--input", "1x3x16x16", "--format", "markdown"])
    assert md.exit_code == 3
    assert "**Forward pass failed**" in md.stdout
    assert "- **Hint:** the 16×16 model input" in md.stdout
    assert (
        "- **Failed at:** row 7 features.5 (MaxPool2d) at torchvision/models/alexnet.py:48"
        in md.stdout
    )


def test_traceback_only_with_debug() -> None:
    runner = CliRunner()
    quiet = runner.invoke(app, ["inspect", "alexnet", "--input", "1x3x16x16"])
    assert quiet.exit_code == 3 and "Traceback" not in quiet.stderr
    loud = runner.invoke(app, ["inspect", "alexnet", "--input", "1x3x16x16", "--debug"])
    assert loud.exit_code == 3 and "Traceback (most recent call last)" in loud.stderr


class SequentialResidual(nn.Sequential):
    """A residual block whose body layers are its own children: ``super().forward(x) + x``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x) + x


def test_add_of_body_layers_and_the_blocks_own_input() -> None:
    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            SequentialResidual(nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU()),
        )
    error = failure(model, "1x3x16x16")
    # Conv 3x3/2 p1 on 16: ⌊(16 + 2 − 2 − 1)/2⌋ + 1 = 8.
    assert error.message == (
        "1.1 output [1,64,8,8] cannot be added to 1 input [1,32,16,16]: "
        "channels 64 vs 32, size 8 vs 16"
    )
    assert error.hint is not None and "(1×1 conv, stride 2)" in error.hint
    assert "nn.Conv2d(32, 64, 1, stride=2, bias=False)" in error.hint


def test_matmul_names_the_inner_dims() -> None:
    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(100, 10))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1) @ self.weight

    error = failure(Head().to("meta"), "2x8x15x15")
    # 8·15·15 = 1800 features against a 100-row weight.
    assert error.message == (
        "matmul(): operand 0 [2,1800] has last dim 1800, but operand 1 [100,10] expects 100"
    )
