"""Capture through the API on small models; expected numbers are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from netinspect import inspect_model
from netinspect.capture.callsite import relative_source
from netinspect.capture.hooks import CallCapture
from netinspect.capture.tensors import tensor_leaves
from netinspect.errors import ForwardFailed
from tests.conftest import model_target
from tests.models import core_models as cm


def rows(report, name):  # type: ignore[no-untyped-def]
    return [r for r in report.layers if r.name == name]


def test_tied_weights_are_counted_once() -> None:
    report = inspect_model(model_target("TiedLM"), ["1x5:int64"])
    # Embedding(1000, 64) = 64,000; the head shares that tensor, so the total is not 128,000.
    assert report.totals.params == 64_000
    (embed,) = rows(report, "embed")
    (head,) = rows(report, "head")
    assert (embed.params, embed.shared_params) == (64_000, 0)
    assert (head.params, head.shared_params) == (0, 64_000)
    assert head.output_shapes == ((1, 5, 1000),)
    assert sum(r.params for r in report.layers) == report.totals.params


def test_reused_module_gets_one_row_per_call() -> None:
    report = inspect_model(model_target("Reuse"), ["2x8"])
    calls = rows(report, "block")
    assert [c.call_index for c in calls] == [0, 1, 2]
    # Linear(8, 8) = 8*8 + 8 = 72, counted at the first call only.
    assert [c.params for c in calls] == [72, 0, 0]
    assert [c.shared_params for c in calls] == [0, 72, 72]
    assert report.totals.params == 72


def test_keyword_inputs_and_dict_outputs() -> None:
    report = inspect_model(model_target("DictInputs"), ["image=1x3x8x8", "mask=1x8x8"])
    assert [(i.name, i.shape) for i in report.inputs] == [
        ("image", (1, 3, 8, 8)),
        ("mask", (1, 8, 8)),
    ]
    assert report.outputs == ((1, 4, 8, 8), (1, 4, 8, 8))
    root = report.layers[0]
    assert root.input_shapes == ((1, 3, 8, 8), (1, 8, 8))
    ops = [r.name for r in report.layers if r.kind == "function"]
    # conv(image) * scale, mask.unsqueeze(1), features * mask
    assert ops == ["mul", "unsqueeze", "mul"]
    assert [r.call_index for r in report.layers if r.kind == "function"] == [0, 0, 1]
    assert report.totals.params == 3 * 4 * 9 + 4


def test_real_tensor_inputs_dict() -> None:
    model = cm.DictInputs()
    report = inspect_model(model, {"image": torch.zeros(2, 3, 5, 5), "mask": torch.ones(2, 5, 5)})
    assert report.device == "cpu"
    assert report.outputs == ((2, 4, 5, 5), (2, 4, 5, 5))


def test_namedtuple_outputs() -> None:
    report = inspect_model(model_target("NamedTupleOut"), ["2x16"])
    assert report.outputs == ((2, 4), (2, 16))
    assert report.layers[0].output_shapes == ((2, 4), (2, 16))


def test_lstm_shows_every_leaf_and_index_flatten() -> None:
    report = inspect_model(model_target("LSTMTagger"), ["1x7x10"])
    (lstm,) = rows(report, "lstm")
    # output (batch, seq, hidden) then h and c: (num_layers, batch, hidden)
    assert lstm.output_shapes == ((1, 7, 20), (2, 1, 20), (2, 1, 20))
    # LSTM layer l: 4*hidden*(input_l + hidden) + 2*4*hidden biases
    expected_lstm = (4 * 20 * (10 + 20) + 8 * 20) + (4 * 20 * (20 + 20) + 8 * 20)
    assert lstm.params == expected_lstm
    assert report.totals.params == expected_lstm + 20 * 5 + 5
    flat = report.flatten
    assert flat is not None
    assert (flat.type, flat.input_shape, flat.output_shape) == (
        "Tensor.__getitem__",
        (1, 7, 20),
        (1, 20),
    )
    assert flat.flattened_dims == ()  # a selection, not a flatten
    assert flat.consumer is not None and flat.consumer.name == "fc"
    assert flat.consumer.matches is True


def test_frozen_layers() -> None:
    report = inspect_model(model_target("Frozen"), ["1x3x8x8"])
    (backbone,) = rows(report, "backbone")
    assert (backbone.params, backbone.trainable_params) == (224, 0)  # 3*8*9 + 8
    head_params = 8 * 6 * 6 * 2 + 2
    assert report.totals.trainable_params == head_params
    assert report.totals.non_trainable_params == 224
    assert report.flatten is not None and report.flatten.type == "Tensor.view"
    assert report.flatten.flattened_dims == (8, 6, 6)


def test_vit_class_token_is_the_flatten_point() -> None:
    report = inspect_model("vit_b_16")
    flat = report.flatten
    assert flat is not None
    assert (flat.type, flat.input_shape, flat.output_shape) == (
        "Tensor.__getitem__",
        (1, 197, 768),  # 14*14 patches + the class token
        (1, 768),
    )
    # The call site is the line of VisionTransformer.forward that selects the class token.
    import torchvision.models.vision_transformer as vt

    lines = Path(vt.__file__).read_text().splitlines()
    line = 1 + next(i for i, text in enumerate(lines) if text.strip() == "x = x[:, 0]")
    assert flat.source == f"torchvision/models/vision_transformer.py:{line}"
    assert flat.consumer is not None
    assert (flat.consumer.name, flat.consumer.expected_in_features) == ("heads.head", 768)


def test_ops_inside_torch_modules_are_not_rows() -> None:
    report = inspect_model("resnet18")
    # F.conv2d inside Conv2d, F.linear inside Linear: not rows. Model-code ops are rows.
    function_rows = [r for r in report.layers if r.kind == "function"]
    assert {r.type for r in function_rows} == {"Tensor.add_", "torch.flatten"}
    assert all(
        r.parent and not r.parent.endswith(("conv1", "bn1", "fc")) for r in function_rows[:-1]
    )
    # 8 BasicBlocks each add their shortcut in place: resnet.py's `out += identity`.
    assert len([r for r in function_rows if r.type == "Tensor.add_"]) == 8
    assert all(r.source == "torchvision/models/resnet.py:102" for r in function_rows[:-1])


def test_depth_and_parents_follow_the_call_stack() -> None:
    report = inspect_model("resnet18")
    by_index = {r.index: r for r in report.layers}
    for r in report.layers[1:]:
        parent_rows = [p for p in report.layers[: r.index] if p.name == r.parent]
        assert parent_rows, r.name
        assert parent_rows[-1].depth == r.depth - 1
    assert by_index[0].name == "" and by_index[0].depth == 0


def test_failing_forward_keeps_the_partial_report() -> None:
    with pytest.raises(ForwardFailed) as info:
        inspect_model(model_target("Broken"), ["1x3x12x12"])
    report = info.value.report
    assert report.error is not None
    # conv: 12 - 3 + 1 = 10 -> flatten 8*10*10 = 800, but fc expects 100.
    assert report.error.name == "fc"
    assert report.error.input_shapes == ((1, 800),)
    assert [r.name for r in report.layers] == ["", "conv", "bn", "flatten", "fc"]
    assert report.layers[report.error.layer_index].name == "fc"


def _state(model: nn.Module) -> list[tuple[object, ...]]:
    return [
        (
            name,
            m.training,
            len(m._forward_hooks),
            len(m._forward_pre_hooks),
            tuple((p.device.type, p.dtype, p.requires_grad) for p in m.parameters(recurse=False)),
        )
        for name, m in model.named_modules()
    ]


@pytest.mark.parametrize("train", [True, False])
def test_model_is_unchanged_after_inspection(train: bool) -> None:
    model = cm.Frozen().train(train)
    model.head.eval()  # a mixed state must come back mixed
    before = _state(model)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    inspect_model(model, torch.zeros(1, 3, 8, 8))
    assert _state(model) == before
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())


def test_model_is_unchanged_after_a_failing_forward() -> None:
    model = cm.Broken().train()
    before = _state(model)
    running_mean = model.bn.running_mean.clone()
    with pytest.raises(ForwardFailed):
        inspect_model(model, torch.zeros(2, 3, 12, 12))
    assert _state(model) == before
    assert torch.equal(model.bn.running_mean, running_mean)  # eval mode: stats untouched
    assert not torch.overrides._get_current_function_mode_stack()


def test_user_model_is_copied_not_moved_for_another_device() -> None:
    model = cm.Reuse()
    report = inspect_model(model, ["2x8"], device="meta")
    assert report.device == "meta"
    assert model.block.weight.device.type == "cpu"


def test_dtype_option() -> None:
    report = inspect_model("resnet18", ["1x3x64x64"], dtype="float16")
    assert report.dtype == "float16"
    assert report.totals.param_bytes == report.totals.params * 2
    assert report.layers[1].output_dtypes == ("float16",)


def test_capture_cleans_up_when_the_block_raises() -> None:
    model = cm.Reuse()
    with pytest.raises(RuntimeError, match="boom"), CallCapture(model):
        raise RuntimeError("boom")
    assert not model.block._forward_hooks and not model.block._forward_pre_hooks
    assert not torch.overrides._get_current_function_mode_stack()


def test_tensor_leaves_skips_non_tensors() -> None:
    t = torch.zeros(2)
    obj = {"a": [t, 3, "x", None], "b": (t, {"c": t}), "d": object()}
    assert len(list(tensor_leaves(obj))) == 3


def test_relative_source_is_never_absolute(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for init in ("pkg/__init__.py", "pkg/sub/__init__.py"):
        (tmp_path / init).write_text("")
    # Inside a package: relative to the directory holding the top-level package.
    assert relative_source(str(tmp_path / "pkg" / "sub" / "m.py"), 7) == "pkg/sub/m.py:7"
    # A plain script: relative to the current directory, with .. when it lives elsewhere.
    assert relative_source(str(tmp_path / "net.py"), 5) == "net.py:5"
    outside = tmp_path.parent / "elsewhere" / "m.py"
    assert relative_source(str(outside), 3) == "../elsewhere/m.py:3"
    import torchvision

    vgg = torchvision.models.vgg.__file__
    assert relative_source(vgg, 68) == "torchvision/models/vgg.py:68"


def test_nonzero_on_the_input_runs_with_real_inputs_and_says_so() -> None:
    # nonzero() reads the input's values: real inputs on cpu answer it, weights stay on meta.
    for device in ("auto", "meta"):
        report = inspect_model(model_target("DataDependent"), ["3x4"], device=device)
        assert report.device == "meta"
        assert report.notes == (
            "meta cannot run `torch.nonzero` at tests/models/core_models.py:141: its output "
            "shape depends on the values; ran with real inputs on cpu and the weights on meta",
        )
        assert report.outputs == ((3, 2),)  # zeros: every row is kept
        assert report.data_dependent_outputs == (0,)


def test_real_device_build_skips_random_init() -> None:
    from netinspect.sources.build import _ZeroInitMode

    with torch.device("cpu"), _ZeroInitMode():
        layer = nn.Linear(64, 32)
        attn = nn.MultiheadAttention(16, 4)
        torch.nn.init.trunc_normal_(layer.weight)  # would loop forever if normal_ were skipped
    assert not layer.weight.any() and not attn.in_proj_weight.any()
    # nn.init.uniform_ passes its tensor by keyword (tensor=): the bias is zeroed too.
    assert not layer.bias.any()
    # Deterministic buffers are kept: BatchNorm's running_var starts at ones.
    with torch.device("cpu"), _ZeroInitMode():
        bn = nn.BatchNorm2d(4)
    assert torch.equal(bn.running_var, torch.ones(4))


def test_cpu_device_runs_real_tensors() -> None:
    meta = inspect_model("resnet18", ["1x3x64x64"])
    cpu = inspect_model("resnet18", ["1x3x64x64"], device="cpu")
    assert cpu.device == "cpu" and meta.device == "meta"
    strip = [(r.name, r.input_shapes, r.output_shapes, r.params) for r in meta.layers]
    assert strip == [(r.name, r.input_shapes, r.output_shapes, r.params) for r in cpu.layers]


def test_tied_weights_stay_tied_when_a_user_model_moves_to_meta() -> None:
    model = cm.TiedLM()
    report = inspect_model(model, ["1x5:int64"], device="meta")
    assert report.totals.params == 64_000  # not 128,000: .to("meta") alone would untie them
    assert model.head.weight is model.embed.weight
    assert model.embed.weight.device.type == "cpu"


def test_torch_modules_claim_submodule_weights_they_use_directly() -> None:
    report = inspect_model(model_target("Attention"), ["1x5x16"])
    (attn,) = rows(report, "attn")
    # in_proj 3*16*16 + 3*16, out_proj 16*16 + 16: out_proj is never called as a module.
    assert attn.params == (3 * 16 * 16 + 3 * 16) + (16 * 16 + 16)
    assert report.totals.uncalled_params == 0
    assert sum(r.params for r in report.layers) == report.totals.params


def test_user_modules_never_called_are_reported() -> None:
    report = inspect_model(model_target("WithUnusedHead"), ["1x4"])
    assert report.totals.uncalled_params == 4 * 3 + 3
    assert report.totals.params == (4 * 2 + 2) + (4 * 3 + 3)
    assert any(
        "15 parameters belong to modules the forward pass never called" in n for n in report.notes
    )


def test_weights_passed_to_functional_ops_are_claimed_where_used() -> None:
    # torchvision's ShiftedWindowAttention calls F.linear(x, self.qkv.weight, ...) itself.
    report = inspect_model("swin_t")
    assert report.totals.uncalled_params == 0
    assert sum(r.params for r in report.layers) == report.totals.params == 28_288_354
    first = next(r for r in report.layers if r.type == "ShiftedWindowAttention")
    c = 96  # stage-1 width, 3 heads, 7x7 windows
    qkv, proj, bias_table = c * 3 * c + 3 * c, c * c + c, (2 * 7 - 1) ** 2 * 3
    assert first.params == qkv + proj + bias_table


def test_activation_of_a_view_the_call_allocated() -> None:
    # Linear on a 3-D input returns a view of its own matmul result: still new memory.
    model = nn.Sequential(nn.Linear(16, 32))
    report = inspect_model(model, ["2x5x16"], device="meta")
    (linear,) = rows(report, "0")
    assert linear.activation_bytes == 2 * 5 * 32 * 4
    # A view of the input (x.view) or of a weight (token.expand) allocates nothing.
    report = inspect_model(model_target("Frozen"), ["1x3x8x8"])
    (view,) = [r for r in report.layers if r.type == "Tensor.view"]
    assert view.activation_bytes == 0


def test_output_names_say_where_each_tensor_sits() -> None:
    assert inspect_model(
        model_target("DictInputs"), ["image=1x3x8x8", "mask=1x8x8"]
    ).output_names == (
        "features",
        "masked",
    )
    assert inspect_model(model_target("NamedTupleOut"), ["2x16"]).output_names == (
        "logits",
        "embedding",
    )
    assert inspect_model("resnet18", ["1x3x32x32"]).output_names == ("",)

    class Detector(nn.Module):
        def forward(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
            return [{"boxes": x[:, :4], "scores": x[:, 0]}]

    report = inspect_model(Detector(), torch.zeros(3, 6))
    assert report.output_names == ("[0].boxes", "[0].scores")
    assert report.outputs == ((3, 4), (3,))


def test_tensor_leaves_never_formats_keys_nor_walks_into_symbolic_sizes() -> None:
    # Every op's arguments are searched for tensors. Building names there cost raft_small's
    # symbolic pass minutes: a SymInt's attributes lead into the ShapeEnv, whose keys print
    # as sympy expressions. A SymInt is a value, and finding tensors needs no names.
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    class LoudKey:
        def __repr__(self) -> str:
            raise AssertionError("a key was formatted")

        __str__ = __repr__

    class Holder:
        def __init__(self) -> None:
            self.table = {LoudKey(): torch.zeros(2)}

    t, holder = torch.ones(1), Holder()
    leaves = tensor_leaves((t, holder))
    assert len(leaves) == 2 and leaves[0] is t and leaves[1] is next(iter(holder.table.values()))
    size = ShapeEnv().create_unbacked_symint()
    assert isinstance(size, torch.SymInt)
    assert tensor_leaves((t, size, [size, 3])) == [t]
