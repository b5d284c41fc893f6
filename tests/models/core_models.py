"""Small models for the core tests: each exercises one capture feature."""

from __future__ import annotations

from collections import namedtuple

import torch
from torch import nn


class TiedLM(nn.Module):
    """An embedding tied to its output head: 1000 x 64 = 64,000 params, counted once."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(1000, 64)
        self.head = nn.Linear(64, 1000, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens))


class Reuse(nn.Module):
    """One Linear(8, 8) called three times: three rows, 72 params counted once."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(3):
            x = self.block(x)
        return x


class DictInputs(nn.Module):
    """Keyword inputs: image=1x3x8x8, mask=1x8x8 (and a non-tensor flag)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(
        self, image: torch.Tensor, mask: torch.Tensor, scale: float = 1.0
    ) -> dict[str, torch.Tensor]:
        features = self.conv(image) * scale
        return {"features": features, "masked": features * mask.unsqueeze(1)}


Pair = namedtuple("Pair", ["logits", "embedding"])


class NamedTupleOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> Pair:
        return Pair(self.fc(x), x)


class LSTMTagger(nn.Module):
    """LSTM returns (output, (h, c)): every tensor leaf's shape must be shown."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=10, hidden_size=20, num_layers=2, batch_first=True)
        self.fc = nn.Linear(20, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, (_h, _c) = self.lstm(x)
        return self.fc(out[:, -1])


class Frozen(nn.Module):
    """A frozen backbone conv (Conv2d(3, 8, 3): 224 params) and a trainable head."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 8, 3)
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.head = nn.Linear(8 * 6 * 6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.backbone(x)
        return self.head(x.view(x.size(0), -1))


class Broken(nn.Module):
    """Linear expects 100 features but gets 1800: forward raises at fc."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(100, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return self.fc(torch.flatten(x, 1))


class Dropout1d(nn.Module):
    """Train-mode-sensitive layers; used to check flags are restored."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.bn(x))


def make_tiny() -> nn.Module:
    """A zero-argument factory target."""
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


class NeedsArgs(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)


def not_a_model() -> int:
    """A zero-argument factory that returns something other than a module."""
    return 42


class DataDependent(nn.Module):
    """nonzero() has a data-dependent output size: the meta device cannot run it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = torch.nonzero(x.sum(dim=1) >= 0).squeeze(1)
        return self.fc(x[keep])


class WithUnusedHead(nn.Module):
    """An auxiliary head that forward never calls: Linear(4, 3) = 15 params unused."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.aux = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class Attention(nn.Module):
    """nn.MultiheadAttention uses out_proj's weights without calling out_proj."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]
