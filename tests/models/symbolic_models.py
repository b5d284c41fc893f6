"""Small models whose symbolic shapes and valid sizes are derived by hand in
``tests/test_symbolic_models.py``."""

from __future__ import annotations

import torch
from torch import nn


class PoolUp(nn.Module):
    """conv 3×3 stride 2 (no padding), then AdaptiveAvgPool2d(5): the conv gives
    ⌊(H − 3)/2⌋ + 1 = ⌊(H − 1)/2⌋ rows, which needs H ≥ 3; the pool always gives 5, so it
    upsamples (repeats values) exactly when ⌊(H − 1)/2⌋ < 5, i.e. H ≤ 10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(5)
        self.head = nn.Linear(8 * 5 * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.conv(x)), 1))


class TinyUNet(nn.Module):
    """Two stride-2 convs (k3 p1: n → ⌈n/2⌉) and two ×2 upsamplings, each concatenated with
    the path at its own scale. Level 1 needs 2·⌈H/4⌉ = ⌈H/2⌉, level 0 needs 2·⌈H/2⌉ = H:
    H even, and with H = 2m, m even: H a multiple of 4."""

    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.up = nn.Upsample(scale_factor=2)
        self.head = nn.Conv2d(3 + 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(d1)
        u1 = torch.cat([d1, self.up(d2)], dim=1)
        u0 = torch.cat([x, self.up(u1)[:, :4]], dim=1)
        return self.head(u0)


class IntOnly(nn.Module):
    """Python integer arithmetic on a size (``int.bit_length``), which a symbolic size does
    not offer: the symbolic pass cannot run it, a concrete pass can (k=3: H, W ≥ 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bits = x.shape[-1].bit_length()
        return self.conv(x) * bits
