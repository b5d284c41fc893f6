"""Models for the scale checks and benchmarks, defined in Python (no config loader needed).

``decoder_59b``: 80 layers of nn.TransformerEncoderLayer (d_model 8192, 64 heads, feed-forward
28672, batch_first): ~59.1B parameters, the size of a large decoder-only LLM. Build it on the
meta device: on CPU it would need ~236 GB.
``tiny_blocks``: 2,500 small blocks (Linear, ReLU, Linear) of 4 module calls each, i.e. 10,001 module calls, to show that
capture and rendering stay linear in the number of calls.
"""

from __future__ import annotations

import torch
from torch import nn

DECODER_LAYERS = 80
DECODER_D_MODEL = 8192
DECODER_HEADS = 64
DECODER_FF = 28672


def decoder_59b(layers: int = DECODER_LAYERS) -> nn.Module:
    """The >=50B-parameter transformer stack (input: batch x tokens x 8192)."""
    layer = nn.TransformerEncoderLayer(
        DECODER_D_MODEL, DECODER_HEADS, DECODER_FF, dropout=0.0, batch_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


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
