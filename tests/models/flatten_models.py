"""Tiny models where the first 2-D drop is not the flatten point: relative-position logits
(batch × heads leading dim), an ECA gate, a class-attention block, an MoE block that flattens
tokens, an embedding read for its shape only, and a recurrent scan. Each mirrors the pattern
of a real model (timm botnet/ecaresnet/cait, HF mixtral/bart/mamba) in a few parameters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RelPosAttention(nn.Module):
    """botnet's ``rel_logits_1d``: ``[B·heads·H, W, 2W-1]`` padded and flattened to 2-D, then
    reshaped back; a leading dim that is not the batch."""

    def __init__(self, dim: int = 8, heads: int = 2, size: int = 4) -> None:
        super().__init__()
        self.heads, self.size = heads, size
        self.qkv = nn.Conv2d(dim, dim * 3, 1)
        self.rel = nn.Parameter(torch.zeros(2 * size - 1, dim // heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).reshape(b * self.heads, c // self.heads * 3, h * w).chunk(3, dim=1)
        q = q.transpose(1, 2).reshape(b * self.heads, h, w, -1)
        logits = q @ self.rel.t()  # [B·heads, H, W, 2W-1]
        logits = logits.reshape(-1, w, 2 * w - 1)  # [B·heads·H, W, 2W-1]
        padded = F.pad(logits, [0, 1]).flatten(1)  # [B·heads·H, W·2W]: the wrong flatten
        padded = F.pad(padded, [0, w - 1])
        rel = padded.reshape(-1, w + 1, 2 * w - 1)[:, :w, w - 1 :]  # [B·heads·H, W, W]
        rel = rel.reshape(b * self.heads, h * w, w).repeat(1, 1, h)
        attn = (q.reshape(b * self.heads, h * w, -1) @ k + rel).softmax(-1)
        out = (attn @ v.transpose(1, 2)).transpose(1, 2).reshape(b, c, h, w)
        return x + out


class RelPosNet(nn.Module):
    """Stem, one relative-position attention stage, pooled head: ``head.flatten`` feeds ``head.fc``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.stages = nn.Sequential(RelPosAttention())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class EcaBlock(nn.Module):
    """ECA: ``x.mean((2, 3))`` is 2-D, then multiplied back into the 4-D map."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean((2, 3)).view(x.shape[0], 1, -1)
        y = self.conv(y).sigmoid().view(x.shape[0], -1, 1, 1)
        return x * y


class SeBlock(nn.Module):
    """Squeeze-excite written with a 2-D squeeze (``mean`` then Linear layers)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // 2)
        self.fc2 = nn.Linear(channels // 2, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc2(F.relu(self.fc1(x.mean((2, 3))))).sigmoid()
        return x * w[:, :, None, None]


class GatedNet(nn.Module):
    """Two gated blocks before a head that flattens at ``torch.flatten`` and feeds ``fc``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.eca = EcaBlock(8)
        self.se = SeBlock(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(self.eca(self.stem(x)))
        return self.fc(self.drop(torch.flatten(self.pool(x), 1)))


class ClassAttention(nn.Module):
    """CaiT's class attention: ``x[:, 0]`` feeds ``q`` inside the block."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.q(x[:, 0]).unsqueeze(1)  # [B, 1, D]
        k, v = self.kv(x).chunk(2, dim=-1)
        attn = (q @ k.transpose(1, 2)).softmax(-1)
        return self.proj(attn @ v)  # [B, 1, D]


class CaitLike(nn.Module):
    """Patch tokens, a class token refined by class attention, head on ``x[:, 0]`` after norm."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks_token_only = nn.ModuleList([ClassAttention(dim)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        for block in self.blocks_token_only:
            cls = cls + block(torch.cat([cls, x], dim=1))
        x = self.norm(torch.cat([cls, x], dim=1))
        return self.head(x[:, 0])


class MoeBlock(nn.Module):
    """mixtral's sparse MoE: tokens flattened to ``[B·T, H]``, experts summed per token."""

    def __init__(self, hidden: int = 16, experts: int = 2) -> None:
        super().__init__()
        self.gate = nn.Linear(hidden, experts)
        self.experts = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(experts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        tokens = x.view(-1, h)  # [B·T, H]: a token reshape, not the flatten point
        weights = self.gate(tokens).softmax(-1)  # [B·T, E]
        stacked = torch.stack([e(tokens) for e in self.experts], dim=1)  # [B·T, E, H]
        mixed = (stacked * weights[..., None]).sum(1)  # [B·T, E, H] -> [B·T, H]
        return x + mixed.view(b, t, h)


class MoeLM(nn.Module):
    """Token ids in, hidden states ``[B, T, H]`` out: no flatten point."""

    def __init__(self, vocab: int = 50, hidden: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.layers = nn.ModuleList([MoeBlock(hidden)])
        self.norm = nn.LayerNorm(hidden)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(input_ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class ShapeReadEncoder(nn.Module):
    """bart's ``inputs_embeds[:, :, -1]``: a 2-D slice taken for its shape only, before a
    pooled classification head (mean over tokens, then ``classifier``)."""

    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, 3)

    def forward(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        shape_probe = inputs_embeds[:, :, -1]  # [B, T]: only its shape is used
        mask = torch.ones(shape_probe.shape, device=inputs_embeds.device)
        h = self.proj(inputs_embeds) * mask[..., None]
        return self.classifier(h.mean(1))


class ShapeReadLM(nn.Module):
    """The same read in an encoder whose output keeps the sequence axis."""

    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        shape_probe = inputs_embeds[:, :, -1]
        mask = torch.ones(shape_probe.shape, device=inputs_embeds.device)
        return self.proj(inputs_embeds) * mask[..., None]


class SelectiveScan(nn.Module):
    """mamba's slow path: per step ``C[:, i, :]`` ([B, L, N] -> [B, N]) against the state."""

    def __init__(self, dim: int = 8, state: int = 4) -> None:
        super().__init__()
        self.in_proj = nn.Linear(dim, dim)
        self.x_proj = nn.Linear(dim, 2 * state)
        self.a_log = nn.Parameter(torch.zeros(dim, state))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.in_proj(x)  # [B, L, D]
        b_mat, c_mat = self.x_proj(u).chunk(2, dim=-1)  # [B, L, N] each
        h = torch.zeros(x.shape[0], x.shape[2], self.a_log.shape[1], device=x.device)
        ys = []
        for i in range(x.shape[1]):
            h = h * self.a_log.exp() + u[:, i, :, None] * b_mat[:, i, None, :]
            ys.append((h @ c_mat[:, i, :].unsqueeze(-1)).squeeze(-1))  # [B, D]
        return self.out_proj(torch.stack(ys, dim=1))  # [B, L, D]


class ScanLM(nn.Module):
    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.mixer = SelectiveScan(dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.mixer(x))
