"""A pool offered as a fix for a Linear's in_features is checked against the model first: it
must pool down, never upsample the map it would get."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from netinspect import inspect_model
from netinspect.errors import ForwardFailed


class PooledTo1(nn.Module):
    """Pools to 1x1 with F.adaptive_avg_pool2d, then a Linear that wants 512·2·2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 512, 3, padding=1)
        self.fc = nn.Linear(512 * 4, 10)

    def forward(self, x):
        out = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1)
        return self.fc(out.view(out.size(0), -1))


class Flat(nn.Module):
    """conv then flatten, no pool: a Linear that wants 8·4·4."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def hint(model: nn.Module, spec: str) -> str:
    try:
        inspect_model(model, [spec])
    except ForwardFailed as exc:
        assert exc.report.error is not None and exc.report.error.hint is not None
        return exc.report.error.hint
    raise AssertionError("the forward pass should fail")


def test_never_offers_an_adaptive_pool_that_upsamples() -> None:
    text = hint(PooledTo1(), "1x3x32x32")
    assert "AdaptiveAvgPool2d((2, 2)) before" not in text
    # The pool that made 1x1 gets 32x32 >= 2x2: changing its size pools down.
    assert text == (
        "set in_features=512, use nn.LazyLinear, "
        "or make adaptive_avg_pool2d() pool to (2, 2) instead of 1×1"
    )


def test_no_pool_hint_when_even_the_pools_input_is_too_small() -> None:
    # At 1x1 the adaptive pool's own input is 1x1 < 2x2: no pool can fix it without upsampling.
    assert hint(PooledTo1(), "1x3x1x1") == "set in_features=512, use nn.LazyLinear"


def test_adds_a_pool_only_when_it_pools_down() -> None:
    # 8x8 map, the Linear wants 4x4: a 4x4 adaptive pool downsamples, so it is offered.
    assert hint(Flat(), "1x3x8x8").endswith(
        "or add nn.AdaptiveAvgPool2d((4, 4)) before the flatten"
    )
    # 2x2 map, 4x4 wanted: a pool would upsample; a conv made the map, so no pool is offered.
    assert hint(Flat(), "1x3x2x2") == "set in_features=32, use nn.LazyLinear"
