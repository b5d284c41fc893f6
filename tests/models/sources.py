"""Small models for test_sources.py: wrapped modules, non-tensor forward arguments, and every
kind of output a forward can return."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn


class Tiny(nn.Module):
    """Linear(4, 3): 4*3 + 3 = 15 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def compiled_tiny() -> nn.Module:
    return torch.compile(Tiny())


def scripted_tiny() -> nn.Module:
    return torch.jit.script(Tiny())


class WithScriptedChild(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.jit.script(Tiny())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Flags(nn.Module):
    """forward takes non-tensor arguments: an int repeat count, a bool and an optional scale."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(
        self, x: torch.Tensor, steps: int = 1, pool: bool = False, scale: float | None = None
    ) -> torch.Tensor:
        for _ in range(steps):
            x = self.fc(x)
        if scale is not None:
            x = x * scale
        return x.mean(dim=1) if pool else x


class Gaussian(nn.Module):
    """Returns a Normal distribution whose loc and scale are 1 x 2."""

    def __init__(self) -> None:
        super().__init__()
        self.loc = nn.Linear(4, 2)
        self.log_scale = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.loc(x), self.log_scale(x).exp())


@dataclass
class Prediction:
    logits: torch.Tensor
    label: str
    features: torch.Tensor


class ReturnsDataclass(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> Prediction:
        return Prediction(logits=self.fc(x), label="cat", features=x)


@dataclass
class FakeModelOutput(OrderedDict):  # type: ignore[type-arg]
    """HF's ModelOutput in miniature: a dataclass that is also an OrderedDict of its non-None
    fields, in field order."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                self[f.name] = value


class ReturnsModelOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> FakeModelOutput:
        h = self.embed(x)
        return FakeModelOutput(logits=self.head(h), hidden_states=(x, h))


class ReturnsNested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> dict[str, Any]:
        y = self.fc(x)
        return {"a": [y, (x, {"deep": y.sum(dim=1)})], "meta": {"note": "text", "n": 3}, "b": y.t()}


class ReturnsNothing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> None:
        self.fc(x)


class ReturnsString(nn.Module):
    def forward(self, x: torch.Tensor) -> str:
        return f"shape {tuple(x.shape)}"
