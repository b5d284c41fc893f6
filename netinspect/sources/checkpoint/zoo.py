"""Known architectures' state dicts, built on meta (shapes only) and cached per process, for
naming what a checkpoint is. Candidates are chosen cheaply before anything is built:
torchvision's classification models by builder family (one member built per family, the
others only when its top-level module names are the checkpoint's), timm's by the names its
pretrained configs give for the first convolution and the classifier."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Iterator
from typing import Any

from netinspect.checkpoint_records import TensorEntry

# timm has over a thousand models: building stops after this many seconds.
TIMM_BUDGET_S = 8.0


@functools.cache
def model_tensors(source: str, name: str) -> tuple[TensorEntry, ...]:
    """The state dict of ``source``'s ``name`` as entries (built on meta, never initialised)."""
    from netinspect.sources.build import _build
    from netinspect.sources.checkpoint.read import tensor_entry

    if source == "torchvision":
        from netinspect.sources.torchvision import torchvision_target

        target = torchvision_target(name)
    else:
        from netinspect.sources.timm import timm_target

        target = timm_target(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _build(target, "meta", zero_init=True)
    return tuple(tensor_entry(k, v) for k, v in model.state_dict().items())


def top_level(keys: list[str] | tuple[str, ...]) -> frozenset[str]:
    return frozenset(k.split(".", 1)[0] for k in keys)


@functools.cache
def _torchvision_families() -> dict[str, list[tuple[str, int]]]:
    """Builder module -> its classification models with their parameter counts (from the
    weights' metadata: no model is built; -1 when a model has no published weights)."""
    import torchvision.models as tvm

    from netinspect.sources.torchvision import model_families

    families: dict[str, list[tuple[str, int]]] = {}
    for name, family in model_families().items():
        if family != "classification":
            continue
        try:
            weights = list(tvm.get_model_weights(name))
            params = int(weights[0].meta.get("num_params", -1)) if weights else -1
        except (ValueError, KeyError):
            params = -1
        families.setdefault(tvm.get_model_builder(name).__module__, []).append((name, params))
    return families


def torchvision_candidates(
    keys: tuple[str, ...], params: int
) -> Iterator[tuple[str, tuple[TensorEntry, ...]]]:
    """(name, state) for torchvision models that could be this checkpoint: families whose
    first member has the same top-level names, each family's members nearest in parameter
    count first."""
    wanted = top_level(keys)
    for members in _torchvision_families().values():
        first = members[0][0]
        first_state = model_tensors("torchvision", first)
        if top_level(tuple(t.key for t in first_state)) != wanted:
            continue
        for name, _ in sorted(members, key=lambda m: abs(m[1] - params) if m[1] > 0 else 1 << 62):
            yield name, model_tensors("torchvision", name)


def timm_candidates(keys: tuple[str, ...]) -> tuple[list[str], str | None]:
    """timm models whose pretrained config names a first convolution and a classifier that
    the checkpoint has; or a reason timm is not searched."""
    try:
        import timm
        from timm.models import get_pretrained_cfg
    except ImportError:
        return [], "timm is not installed"
    present = set(keys)
    found: list[str] = []
    for name in timm.list_models():
        cfg = get_pretrained_cfg(name, allow_unregistered=True)
        if cfg is None:
            continue
        first, head = cfg.first_conv, cfg.classifier
        firsts = first if isinstance(first, (list, tuple)) else [first]
        heads = head if isinstance(head, (list, tuple)) else [head]
        if any(f and f"{f}.weight" in present for f in firsts) and any(
            h and f"{h}.weight" in present for h in heads
        ):
            found.append(name)
    return found, None


def timm_states(names: list[str]) -> Iterator[tuple[str, tuple[TensorEntry, ...]]]:
    """Build timm candidates until the time budget is spent."""
    start = time.perf_counter()
    for name in names:
        if time.perf_counter() - start > TIMM_BUDGET_S:
            return
        try:
            yield name, model_tensors("timm", name)
        except Exception:  # a model that does not build on meta is not a candidate
            continue


def transformers_state(directory: str) -> tuple[str, tuple[TensorEntry, ...]] | None:
    """A model directory's own architecture (its config's first ``architectures`` class, else
    the base model of its ``model_type``) built on meta; None without transformers. Never
    downloads: the config is read from the directory only."""
    try:
        import transformers
    except ImportError:
        return None
    import torch

    from netinspect.sources.checkpoint.read import tensor_entry
    from netinspect.sources.hf import _quiet_transformers

    with _quiet_transformers(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = transformers.AutoConfig.from_pretrained(directory, local_files_only=True)
        names = list(getattr(config, "architectures", None) or [])
        model_cls: Any = getattr(transformers, names[0], None) if names else None
        if model_cls is None:
            model_cls = transformers.AutoModel._model_mapping[type(config)]
        with torch.device("meta"):
            model = model_cls._from_config(config)
    state = model.state_dict()
    return model_cls.__name__, tuple(tensor_entry(k, v) for k, v in state.items())
