"""Plain torch.nn models that run many of torch's Python meta kernels, for the test that a pass
without sympy (torch_compat/sympy_free.py) answers exactly as a pass with it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Convs(nn.Module):
    """Convolutions, norms, pools, upsampling and a transposed conv."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU())
        self.group = nn.Sequential(nn.Conv2d(8, 8, 3, groups=2, padding=1), nn.GroupNorm(2, 8))
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.conv1d = nn.Conv1d(4, 4, 3, padding=1)
        self.conv3d = nn.Conv3d(1, 2, 3, padding=1)
        self.head = nn.Linear(4 + 2, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = F.max_pool2d(self.group(x) + x, 2)
        x = F.interpolate(self.inorm(x), scale_factor=2, mode="bilinear", align_corners=False)
        x = F.pixel_shuffle(torch.cat([x, x, x, x], dim=1), 2)[:, :8]
        x = F.avg_pool2d(self.up(x), 2)
        seq = self.conv1d(x.flatten(2)).mean(-1)
        vol = self.conv3d(x[:, :1].unsqueeze(1)).amax(dim=(2, 3, 4))
        return self.head(torch.cat([seq, vol], dim=1)).log_softmax(-1)


class Encoder(nn.Module):
    """A transformer encoder with a class token, position table and attention masks."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.cls = nn.Parameter(torch.zeros(1, 1, 16))
        self.pos = nn.Parameter(torch.zeros(1, 9, 16))
        layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        causal = torch.triu(torch.full((9, 9), float("-inf"), device=x.device), diagonal=1)
        x = self.encoder(x, mask=causal)
        y, _ = self.attn(x, x, x, need_weights=True)
        q = k = v = x.view(x.shape[0], 9, 2, 8).transpose(1, 2)
        z = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape_as(x)
        return self.head(F.gelu(y + z)[:, 0])


class Recurrent(nn.Module):
    """LSTM and GRU, both directions, and a cell stepped in a loop."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(16, 4, batch_first=True)
        self.cell = nn.GRUCell(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.lstm(x)
        x, h = self.gru(x)
        state = h[0]
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state)
        return self.head(state)


class Indexing(nn.Module):
    """Gathers, scatters, sorts, cumulative ops, masks and einsum."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 8)
        self.norm = nn.LayerNorm(8)
        self.table = nn.Parameter(torch.zeros(8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.proj(x))
        top = x.topk(3, dim=-1).values
        order = x.argsort(dim=-1)
        gathered = x.gather(-1, order)
        summed = torch.zeros_like(x).scatter_add(-1, order, gathered)
        masked = summed.masked_fill(summed > 0, 0.0).cumsum(-1)
        mixed = torch.einsum("bi,ij->bj", masked, self.table)
        picked = torch.where(mixed > 0, mixed, x)[:, [0, 2, 4]]
        return torch.cat([picked, top], dim=-1).clamp(-1, 1).pow(2).sqrt()


CASES: list[tuple[str, list[str]]] = [
    ("Convs", ["2x3x16x16"]),
    ("Encoder", ["2x8:int64"]),
    ("Recurrent", ["2x5x6"]),
    ("Indexing", ["3x8"]),
]
