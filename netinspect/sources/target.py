"""What a model source resolves to: a factory plus the facts needed to run it.

Nothing here builds the model: the pipeline calls ``factory()`` inside the device context it
chose (``torch.device("meta")`` by default), so no weight memory or init time is spent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CONFIG_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ModelTarget:
    name: str
    source: str  # "torchvision" | "timm" | "hf" | "file" | "module" | "config" | "object"
    factory: Callable[[], Any]
    default_inputs: tuple[str, ...] | None = None
    family: str | None = None
    # Non-tensor forward arguments the target asks for (config ``args:``), CLI ``--arg`` wins.
    default_args: dict[str, Any] = field(default_factory=dict)
    # A config's ``description:``, carried into the report's model info.
    description: str | None = None
    # Where ``--device auto`` runs this target instead of meta, and why (quantized models).
    auto_device: str | None = None
    auto_device_reason: str | None = None


def is_config_path(target: str) -> bool:
    return target.lower().endswith(CONFIG_SUFFIXES)
