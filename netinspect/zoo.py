"""torchvision's model zoo: names, families, default inputs and builder arguments."""

from __future__ import annotations

import functools
from typing import Any

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
    import torchvision.models as tvm

    families: dict[str, str] = {}
    for family in FAMILIES:
        module = tvm if family == "classification" else getattr(tvm, family)
        for name in tvm.list_models(module=module):
            families[name] = family
    return families


def default_inputs(name: str, family: str) -> tuple[str, ...]:
    return MODEL_DEFAULT_INPUTS.get(name) or FAMILY_DEFAULT_INPUTS[family]


def build_kwargs(name: str, family: str) -> dict[str, Any]:
    return {**FAMILY_BUILD_KWARGS.get(family, {}), **MODEL_BUILD_KWARGS.get(name, {})}
