"""The two combinators that YAML configs build (``residual:`` and ``concat:``).

They live in the netinspect package, not in torch, on purpose: the capture records ops called
inside non-torch modules, so their ``+`` and ``cat`` show up as rows with shapes, and a
shape mismatch in a skip connection is reported at the add itself.
"""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """``body(x) + shortcut(x)``; the shortcut is ``nn.Identity`` unless a projection is given."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x) + self.shortcut(x)
        return out


class Concat(nn.Module):
    """Run every branch on the same input and concatenate the outputs along ``dim``."""

    def __init__(self, branches: list[nn.Module], dim: int = 1) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
