"""``timm:NAME``: a timm model by name, built with ``pretrained=False`` (never a download),
with the model's own default input (``pretrained_cfg["input_size"]``: efficientnet_b3 is
3x288x288). Builder keyword arguments follow the name: ``timm:resnet18,num_classes=10``.

timm is imported only when a ``timm:`` target is resolved (the ``[timm]`` extra).
"""

from __future__ import annotations

import difflib
from typing import Any

from netinspect.errors import ModelNotFound, UsageError
from netinspect.sources.extras import require_extra, split_options
from netinspect.sources.target import ModelTarget

PREFIX = "timm:"


def list_timm_models(pattern: str | None = None) -> list[str]:
    """timm's architecture names, optionally filtered by a shell pattern (``resnet*``); a
    pattern without wildcards matches names that contain it."""
    timm = require_extra("timm", "timm", "netinspect list timm")
    if pattern and not any(ch in pattern for ch in "*?["):
        pattern = f"*{pattern}*"
    return list(timm.list_models(pattern or ""))


def _suggestions(name: str, known: list[str]) -> list[str]:
    lowered = {n.lower(): n for n in known}
    if name.lower() in lowered:
        return [lowered[name.lower()]]
    return difflib.get_close_matches(name, known, n=3, cutoff=0.6)


def _default_input(name: str, options: dict[str, Any]) -> str:
    """``1xCxHxW`` from the pretrained config, or from ``img_size``/``in_chans`` when the
    target overrides them (a ViT built for 384 wants 384, whatever its config says)."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name, allow_unregistered=True)
    channels, height, width = cfg.input_size if cfg is not None else (3, 224, 224)
    size = options.get("img_size")
    if isinstance(size, int) and not isinstance(size, bool):
        height = width = size
    channels = options.get("in_chans", channels)
    return f"1x{channels}x{height}x{width}"


def timm_target(text: str) -> ModelTarget:
    """``text`` is what follows ``timm:``: a model name (``resnet18``, also with a pretrained
    tag such as ``resnet18.a1_in1k``) and optional ``,key=value`` builder arguments."""
    name, options = split_options(text, prefix="timm")
    full = PREFIX + text
    timm = require_extra("timm", "timm", full)
    if options.get("pretrained"):
        raise UsageError(f"{full}: netinspect never downloads weights; drop pretrained=true")
    options.pop("pretrained", None)
    architecture = name.split(".", 1)[0]
    known = list(timm.list_models())
    if not name or architecture not in known:
        suggestions = [PREFIX + s for s in _suggestions(architecture, known)]
        listing = "" if suggestions else " (netinspect list timm PATTERN lists them)"
        raise ModelNotFound(full, suggestions, f"unknown timm model {name!r}{listing}")

    def factory() -> Any:
        try:
            return timm.create_model(name, pretrained=False, **options)
        except TypeError as exc:
            # An option the builder does not take: a usage error, not a model failure.
            raise UsageError(f"{full}: {exc}") from exc

    return ModelTarget(
        name=full,
        source="timm",
        factory=factory,
        default_inputs=(_default_input(name, options),),
        family="timm",
    )
