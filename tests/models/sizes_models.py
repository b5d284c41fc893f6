"""Small models with known input-size constraints, for ``netinspect sizes`` tests."""

from __future__ import annotations

import torch
import torchvision
from torch import nn


def vgg16_no_avgpool() -> nn.Module:
    """vgg16 without its AdaptiveAvgPool2d: the classifier then needs exactly 7×7 maps."""
    model = torchvision.models.vgg16(weights=None)
    model.avgpool = nn.Identity()
    return model


class DownUp(nn.Module):
    """Two stride-2 convs, two ×2 upsamplings, and a skip concatenation with the input:
    the sizes must come back exactly, so H and W must be multiples of 4."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3, 8, 2, stride=2), nn.Conv2d(8, 8, 2, stride=2))
        self.up = nn.Upsample(scale_factor=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.up(self.down(x))], dim=1)


class Tokens(nn.Module):
    """Learned positions for at most 16 tokens: sequences of 1 to 16 only."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.pos = nn.Parameter(torch.zeros(1, 16, 8))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embed(tokens) + self.pos[:, : tokens.shape[1]]


class FullyConv(nn.Module):
    """No pooling to a fixed size: the output grows with the input (k=5: H ≥ 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
