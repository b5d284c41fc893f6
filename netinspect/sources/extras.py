"""What the optional sources (``timm:``, ``hf:``) share: importing their library only when
their prefix is used, and builder options written into the target string.

A target carries its options after commas, so that one string names one model everywhere a
target goes (the CLI, ``snapshot``/``check`` and their baselines, ``[tool.netinspect]``):

    timm:resnet18,num_classes=10
    hf:llama,task=causal-lm,num_hidden_layers=2,hidden_size=256

Values are YAML scalars, as in ``--arg``: ``2``, ``0.5``, ``true``, ``null``, ``gelu``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from netinspect.errors import UsageError


def require_extra(module: str, extra: str, target: str) -> ModuleType:
    """Import ``module`` or say, in one line, what to install. Only a missing ``module`` itself
    is that error; anything else broken inside it propagates as it is."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or ""
        if missing and missing != module.split(".")[0] and not module.startswith(missing):
            raise
        package = module.split(".")[0]
        raise UsageError(
            f"{target} needs {package}, which is not installed here: pip install {package} "
            f'(in a netinspect checkout: pip install -e ".[{extra}]")'
        ) from None


def split_options(text: str, *, prefix: str, dotted: bool = False) -> tuple[str, dict[str, Any]]:
    """``"llama,task=causal-lm,num_hidden_layers=2"`` -> ``("llama", {...})``. ``dotted``: keys
    may name nested settings (``text_config.num_hidden_layers``)."""
    import yaml

    name, *items = text.split(",")
    options: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        parts = key.split(".") if dotted else [key]
        if not sep or not all(part.isidentifier() for part in parts):
            raise UsageError(
                f"malformed option {item!r} in {prefix}:{text}: expected key=value, "
                f"e.g. {prefix}:{name},num_hidden_layers=2"
            )
        if key in options:
            raise UsageError(f"option {key!r} given twice in {prefix}:{text}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw.strip()
        if not isinstance(value, (bool, int, float, str, type(None))):
            value = raw.strip()  # YAML lists, dates and the like: the text as written
        options[key] = value
    return name.strip(), options
