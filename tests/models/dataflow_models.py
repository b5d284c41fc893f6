"""Small models, each reproducing one pattern from real models that row order alone
gets wrong: where the flatten point is, who consumes it, and which row owns a parameter."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ParentReadsChildDtype(nn.Module):
    """HF ViT/CLIP/T5, timm edgenext: the parent reads its child's ``weight.dtype`` (and
    ``.shape``, ``.device``, ``.requires_grad``) before calling it. Reading is not using:
    proj's 768 x 768 = 589,824 weights belong to proj, not to the root."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(768, 768, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.proj.weight
        if w.requires_grad and w.shape[0] == 768:
            x = x.to(device=w.device, dtype=w.dtype)
        return self.proj(x)


class TwoClassTokens(nn.Module):
    """DeiT distilled / CrossViT / VOLO: two tokens ``a, b = x[:, 0], x[:, 1]`` feed two
    heads. Input [B, 4, 16]."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(16, 32)  # 16*32 + 32 = 544
        self.tokens = nn.Parameter(torch.zeros(1, 2, 32))  # 64, the root's own
        self.norm = nn.LayerNorm(32)  # 64
        self.head = nn.Linear(32, 10)  # 330
        self.head_dist = nn.Linear(32, 10)  # 330

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        x = torch.cat([self.tokens.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.norm(x)
        a, b = x[:, 0], x[:, 1]
        return (self.head(a) + self.head_dist(b)) / 2


class FunctionalLinear(nn.Linear):
    """timm's heads in MobileNetV3/V4, GhostNet, StarNet: a Linear subclass whose forward
    calls F.linear itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class LinearSubclassHead(nn.Module):
    """conv -> flatten -> FunctionalLinear. Input [B, 3, 4, 4]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)  # 8*3*9 + 8 = 224
        self.drop = nn.Dropout(0.1)
        self.head = FunctionalLinear(8 * 4 * 4, 5)  # 128*5 + 5 = 645

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.conv(x).flatten(1)))


class PositionTable(nn.Module):
    """HaloNet/BoTNet rel-pos, RoPE: a [16, 2, 4] table ``.flatten(1)`` to [16, 8] added to
    the activations. Its 16 is no batch dim. Input [1, 16, 8]."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(16, 2, 4))  # 128
        self.proj = nn.Linear(8, 8)  # 72
        self.head = nn.Linear(8, 3)  # 27

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x) + self.table.flatten(1)
        return self.head(x.mean(1))


class GlobalMean(nn.Module):
    """A global average by hand: ``x.mean((2, 3))`` reduces [B, 8, 7, 7] to [B, 8]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)  # 224
        self.act = nn.ReLU()
        self.fc = nn.Linear(8, 4)  # 36

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.act(self.conv(x)).mean((2, 3)))


class LazyNet(nn.Module):
    """nn.LazyConv2d and nn.LazyLinear: shapes are known only after the first forward.
    Input [1, 3, 8, 8]: conv 3 -> 8, k3 (224), flatten 8*6*6 = 288, Linear(288, 10) (2,890)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.LazyConv2d(8, 3)
        self.fc = nn.LazyLinear(10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).flatten(1))


class TwoHeads(nn.Module):
    """One flattened feature vector feeding two heads (a classifier and a regressor)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)  # 16
        self.cls = nn.Sequential(nn.ReLU(), nn.Linear(64, 10))  # 650
        self.box = nn.Linear(64, 4)  # 260

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = torch.flatten(self.conv(x), 1)
        return self.cls(feats), self.box(feats)


class Residual(nn.Module):
    """For data flow by hand: an in-place ReLU, a residual add, a buffer and a constant."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)
        self.relu = nn.ReLU(inplace=True)
        self.register_buffer("shift", torch.zeros(1, 4, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.conv(x))
        y = y + x
        y = y - self.shift
        return y * torch.ones(1, device=y.device)
