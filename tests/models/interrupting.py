"""A model whose forward is 'interrupted' by the user half-way through."""

from __future__ import annotations

import torch
from torch import nn


class Interrupted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(4, 4)
        self.second = nn.Sequential(nn.Linear(4, 4), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.second(self.first(x))
        raise KeyboardInterrupt
