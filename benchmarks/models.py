"""A model for the capture-overhead benchmark and its test.

``tiny_blocks``: 2,500 small blocks (Linear, ReLU, Linear) of 4 module calls each, i.e. 10,001
module calls, to show that capture and rendering stay linear in the number of calls. (The large
transformer is the shipped ``configs/decoder_59b.yaml``.)
"""

from __future__ import annotations

import torch
from torch import nn


class TinyBlock(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def tiny_blocks(blocks: int = 2500, width: int = 8) -> nn.Module:
    """``blocks`` × (TinyBlock: Linear, ReLU, Linear) = 4·blocks + 1 module calls.

    No LayerNorm: its meta kernel is a Python reference implementation that alone takes ~4 ms
    per call on this machine, which would measure torch's meta device rather than capture.
    """
    return nn.Sequential(*(TinyBlock(width) for _ in range(blocks)))
