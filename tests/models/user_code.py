"""Models whose own code misbehaves: it exits, raises odd things, changes itself, or nests deep."""

from __future__ import annotations

import sys

import torch
from torch import nn


class Exits(nn.Module):
    """Calls sys.exit(0) in forward, after one Linear(4, 4) ran."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.fc(x)
        sys.exit(0)


class Custom(BaseException):
    """Not an Exception: torch's always-call hooks do not see it."""


class RaisesBase(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(_raise_custom(x))


def _raise_custom(x: torch.Tensor) -> torch.Tensor:
    raise Custom("boom")


class InnerExit(nn.Module):
    """A child module exits: the failure is its row, the innermost module still running."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = Exits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


class Interrupts(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise KeyboardInterrupt


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class RaisesUnprintable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise UnprintableError


class RaisesHuge(nn.Module):
    """Raises with a 3 MB message (one line of words)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("word " * 600_000)


class Mutates(nn.Module):
    """Its forward switches to train mode, bumps a buffer, doubles a weight in place and
    rebinds another buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.register_buffer("count", torch.zeros(()))
        self.register_buffer("last", torch.zeros(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.train()
        self.count += 1
        with torch.no_grad():
            self.fc.weight.mul_(2)
        self.last = x.sum(0)
        return self.fc(x)


class Pair(nn.Module):
    """forward(a, b, scale=1.0): two tensors."""

    def forward(self, a: torch.Tensor, b: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return (a + b) * scale


class Tokens(nn.Module):
    """An Embedding first: its input must hold integer indices."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(text))


class TokensAndImage(nn.Module):
    """Two inputs: integer tokens for the Embedding, a float image for the Conv2d."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.conv(image).mean((2, 3)) + self.embed(text).mean(1)


def nested(depth: int) -> nn.Module:
    """Linear(4, 4) inside ``depth`` nested Sequentials."""
    model: nn.Module = nn.Linear(4, 4)
    for _ in range(depth):
        model = nn.Sequential(model)
    return model


def deep_240() -> nn.Module:
    return nested(240)


def deep_10k() -> nn.Module:
    return nested(10_000)
