"""torchvision's model zoo: names, families, default inputs and builder arguments."""

from __future__ import annotations

import difflib
import functools
import warnings
from pathlib import Path
from typing import Any

from netinspect.errors import (
    ModelNotFound,
)
from netinspect.sources.target import ModelTarget

FAMILIES = ("classification", "detection", "segmentation", "video", "optical_flow", "quantization")

# Per family, the dummy input that the family's forward expects (spec strings, CLI grammar).
FAMILY_DEFAULT_INPUTS: dict[str, tuple[str, ...]] = {
    "classification": ("1x3x224x224",),
    # Detection models take a list of 3xHxW images and resize them internally.
    "detection": ("[3x224x224]",),
    "segmentation": ("1x3x224x224",),
    # N x C x T x H x W clips.
    "video": ("1x3x16x112x112",),
    # Two frames; RAFT needs H and W divisible by 8.
    "optical_flow": ("1x3x224x224", "1x3x224x224"),
    "quantization": ("1x3x224x224",),
}

# Models whose real requirement differs from their family's default.
MODEL_DEFAULT_INPUTS: dict[str, tuple[str, ...]] = {
    "inception_v3": ("1x3x299x299",),
    "quantized_inception_v3": ("1x3x299x299",),
    "mvit_v1_b": ("1x3x16x224x224",),
    "mvit_v2_s": ("1x3x16x224x224",),
    "s3d": ("1x3x16x224x224",),
    "swin3d_t": ("1x3x16x224x224",),
    "swin3d_s": ("1x3x16x224x224",),
    "swin3d_b": ("1x3x16x224x224",),
}

# Extra builder keyword arguments, beyond ``weights=None``.
FAMILY_BUILD_KWARGS: dict[str, dict[str, Any]] = {
    # Their builders default to ImageNet backbone weights, which would mean a download.
    "detection": {"weights_backbone": None},
    "segmentation": {"weights_backbone": None},
    # The real int8 model: BatchNorm folded into the convs, weights packed for quantized
    # kernels (counted from their packed weights). The float QuantizableX variant is one
    # config away: model: {_target_: torchvision.models.quantization.X, quantize: false}.
    "quantization": {"quantize": True},
}

# Where ``--device auto`` runs a family when meta cannot: quantized kernels exist for cpu only.
FAMILY_AUTO_DEVICE: dict[str, str] = {"quantization": "cpu"}
# ``init_weights=True`` is what these builders already do with weights=None; saying so
# silences their FutureWarning about changing the default.
MODEL_BUILD_KWARGS: dict[str, dict[str, Any]] = {
    name: {"init_weights": True}
    for name in ("googlenet", "inception_v3", "quantized_googlenet", "quantized_inception_v3")
}


@functools.cache
def model_families() -> dict[str, str]:
    """Every torchvision model name mapped to its family."""
    from netinspect.sources.files import import_installed

    # The first import of torchvision in a run: never a torchvision/ folder in the current
    # directory (``python -m`` puts it on sys.path); later imports find this one in sys.modules.
    import_installed("torchvision.models")
    import torchvision.models as tvm

    families: dict[str, str] = {}
    for family in FAMILIES:
        module = tvm if family == "classification" else getattr(tvm, family)
        for name in tvm.list_models(module=module):
            families[name] = family
    return families


# The inputs of model classes whose builders' names differ from the class (see above).
_CLASS_DEFAULT_INPUTS: dict[str, tuple[str, ...]] = {
    "Inception3": ("1x3x299x299",),
    "QuantizableInception3": ("1x3x299x299",),
    "MViT": ("1x3x16x224x224",),
    "S3D": ("1x3x16x224x224",),
    "SwinTransformer3d": ("1x3x16x224x224",),
}


def wrapped_model_inputs(model: Any) -> tuple[tuple[str, ...], str] | None:
    """For a model with no default input of its own (``file.py:make`` returning a wrapper
    around ``resnet18()``): the default input of the first torchvision model in it (pre-order:
    the outermost), and which row that is (``backbone (ResNet)``). A torchvision model is a
    class its family's namespace exports (``torchvision.models.ResNet``), not a building block
    (``BasicBlock``). None when there is none (torchvision is then never imported)."""
    import sys

    if "torchvision.models" not in sys.modules:
        return None  # the model cannot hold one
    import torchvision.models as tvm

    for name, module in model.named_modules():
        cls = type(module)
        parts = cls.__module__.split(".")
        if parts[:2] != ["torchvision", "models"]:
            continue
        family = parts[2] if len(parts) > 3 and parts[2] in FAMILIES else "classification"
        namespace = tvm if family == "classification" else getattr(tvm, family, None)
        if getattr(namespace, cls.__name__, None) is not cls:
            continue
        inputs = _CLASS_DEFAULT_INPUTS.get(cls.__name__) or FAMILY_DEFAULT_INPUTS[family]
        return inputs, f"{name or '(root)'} ({cls.__name__})"
    return None


def default_inputs(name: str, family: str) -> tuple[str, ...]:
    return MODEL_DEFAULT_INPUTS.get(name) or FAMILY_DEFAULT_INPUTS[family]


def build_kwargs(name: str, family: str) -> dict[str, Any]:
    return {**FAMILY_BUILD_KWARGS.get(family, {}), **MODEL_BUILD_KWARGS.get(name, {})}


def torchvision_target(name: str) -> ModelTarget:
    families = model_families()
    if name not in families:
        lowered = {n.lower(): n for n in families}
        if name.lower() in lowered:
            suggestions = [lowered[name.lower()]]
        else:
            suggestions = difflib.get_close_matches(name, list(families), n=3, cutoff=0.6)
        detail = f"unknown model {name!r}: not a torchvision model, .py target or YAML config"
        if Path(name).exists():
            detail += " (a file of that name exists: use file.py:ClassName or a .yaml config)"
        raise ModelNotFound(name, suggestions, detail)
    family = families[name]

    def factory() -> Any:
        import torchvision.models as tvm

        with warnings.catch_warnings():
            # torchvision's own deprecation and observer chatter: nothing the user can act on.
            warnings.simplefilter("ignore")
            return tvm.get_model(name, weights=None, **build_kwargs(name, family))

    return ModelTarget(
        name=name,
        source="torchvision",
        factory=factory,
        default_inputs=default_inputs(name, family),
        family=family,
        auto_device=FAMILY_AUTO_DEVICE.get(family),
        auto_device_reason=(
            "quantized int8 kernels run on cpu only" if family in FAMILY_AUTO_DEVICE else None
        ),
    )
