"""Diagnoses whose advice must be right: a missing batch dim is named as such (not "set
num_features=112"), and a minimum input size in a hint is one that itself runs."""

from __future__ import annotations

import pytest

from netinspect.errors import ForwardFailed
from netinspect.pipeline.run import inspect_model
from netinspect.records import ErrorRecord


def failure(model: str, *inputs: str) -> ErrorRecord:
    with pytest.raises(ForwardFailed) as caught:
        inspect_model(model, list(inputs))
    error = caught.value.report.error
    assert error is not None
    return error


@pytest.mark.parametrize(
    ("model", "first_layer"), [("resnet18", "Conv2d conv1"), ("vgg16", "Conv2d features.0")]
)
def test_a_missing_batch_dim_is_named_whatever_fails_later(model: str, first_layer: str) -> None:
    # resnet18 fails at bn1 (it reads 112 as channels), vgg16 at its Linear (49 features): the
    # cause is the same 3-D input.
    error = failure(model, "3x224x224")
    assert error.hint == "add a batch dimension: 1x3x224x224"
    assert error.message == (
        f"the input [3,224,224] has no batch dimension: {first_layer}, its first layer, "
        "takes [N, C, H, W]"
    )
    assert error.expected == "a 4-D batch [N, C, H, W]"


def test_a_batched_input_that_fails_is_not_called_unbatched() -> None:
    error = failure("vgg16", "1x3x224x225x1")  # 5-D into Conv2d: not one dim short
    assert "batch dimension" not in (error.hint or "") + error.message


def test_a_window_hint_names_a_minimum_that_runs() -> None:
    # The first pool alexnet cannot run is features.5 (31×31 reaches it with a full window);
    # its last pool needs 63×63 (hand calculation in test_sizes.py). The hint names 63.
    error = failure("alexnet", "1x3x16x16")
    assert error.hint == (
        "the 16×16 model input shrinks to 1×1 by this layer; the model takes at least 63×63 "
        "(checked: a 63×63 input runs; `netinspect sizes` finds the whole accepted range)"
    )
    assert inspect_model("alexnet", ["1x3x63x63"]).outputs == ((1, 1000),)
    assert failure("alexnet", "1x3x62x62").name == "features.12"


def test_an_unchecked_window_hint_says_later_layers_may_need_more() -> None:
    import torch
    import torchvision

    model = torchvision.models.alexnet(weights=None)  # on cpu: no meta pass to check with
    with pytest.raises(ForwardFailed) as caught:
        inspect_model(model, torch.zeros(1, 3, 16, 16))
    error = caught.value.report.error
    assert error is not None and error.hint == (
        "the 16×16 model input shrinks to 1×1 by this layer; it takes at least 31×31 to reach "
        "it, and the layers after it may need more (`netinspect sizes` finds the whole accepted "
        "range)"
    )
