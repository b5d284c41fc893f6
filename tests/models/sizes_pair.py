"""A two-image model with RAFT's input rules, for ``netinspect sizes`` (tests/test_sizes.py)."""

from __future__ import annotations

import torch
from torch import nn


class Pair(nn.Module):
    """Two images of one shape, H and W divisible by 8, and maps of at least 16 after the /8
    encoder (so H, W ≥ 8·16 = 128): the same rules as torchvision's RAFT."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Conv2d(3, 4, 8, stride=8)
        self.pool = nn.MaxPool2d(16)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        if image1.shape != image2.shape:
            raise ValueError("input images should have the same shape")
        if image1.shape[-2] % 8 or image1.shape[-1] % 8:
            raise ValueError("input image H and W should be divisible by 8")
        return self.pool(self.encoder(image1) + self.encoder(image2))
