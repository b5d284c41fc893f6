"""FLOPs of the ops that are not matmuls or convolutions, by the conventions of DeepSpeed's
flops profiler (``deepspeed/profiling/flops_profiler/profiler.py``), which ptflops follows
for the same layers. None of these ops does a multiply-accumulate, so their MACs are 0, and
none is in ``torch.utils.flop_counter``: ``CostMode`` keeps their FLOPs apart from the
matmul/conv figure, which stays equal to ``FlopCounterMode``'s.

=========================================  ==========================================
op                                         FLOPs
=========================================  ==========================================
pointwise (``torch.Tag.pointwise``: add,   1 per output element
mul, relu, gelu, silu, exp, rsqrt...)
reduction (sum, mean, amax, var, norm...)  1 per input element
softmax, log_softmax                       1 per input element
pooling (max, avg, adaptive, any rank)     1 per input element
batch norm, eval                           1 per element, 2 with an affine weight
batch norm, training                       4 per element, 5 with an affine weight
layer / group norm                         4 per element, 5 with an affine weight
RMS norm                                   3 per element, 4 with a weight
upsampling by interpolation (bilinear...)  1 per output element
=========================================  ==========================================

Each formula is a small pure function of the op's arguments and output, registered by the
aten op's name (names, not op objects, so that an op a torch version lacks costs nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Formula = Callable[..., int]


def _numel(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return int(value.numel())
    if isinstance(value, (list, tuple)):
        return next((_numel(v) for v in value if isinstance(v, torch.Tensor)), 0)
    return 0


def per_output_element(*args: Any, out_val: Any = None, **kwargs: Any) -> int:
    """Pointwise ops and interpolation: one FLOP per element produced (DeepSpeed's
    elementwise, activation and upsample counts)."""
    return _numel(out_val)


def per_input_element(*args: Any, out_val: Any = None, **kwargs: Any) -> int:
    """Reductions, softmax and pooling: one FLOP per element read (DeepSpeed's pool and
    softmax counts)."""
    first = args[0] if args else kwargs.get("input", kwargs.get("self"))
    return _numel(first)


def _affine(weight: Any) -> bool:
    return isinstance(weight, torch.Tensor)


def batch_norm_flop(
    x: torch.Tensor, weight: Any = None, bias: Any = None, *args: Any, **kwargs: Any
) -> int:
    """``native_batch_norm(x, w, b, mean, var, training, ...)``: normalising is 1 FLOP per
    element, the affine scale 1 more; training also computes the batch statistics (4, or 5
    with a weight)."""
    training = bool(args[2]) if len(args) > 2 else bool(kwargs.get("training", False))
    return _batch_norm_count(x, weight, training)


def batch_norm_legit_flop(
    x: torch.Tensor, weight: Any = None, bias: Any = None, *args: Any, **kwargs: Any
) -> int:
    """``_native_batch_norm_legit(x, w, b, [mean, var,] training, momentum, eps)``: the
    training flag is the fourth argument from the end."""
    training = bool(args[-3]) if len(args) >= 3 else bool(kwargs.get("training", False))
    return _batch_norm_count(x, weight, training)


def batch_norm_eval_flop(x: torch.Tensor, weight: Any = None, *args: Any, **kwargs: Any) -> int:
    """``_native_batch_norm_legit_no_training``: running statistics, 1 FLOP per element (2
    with a weight)."""
    return _batch_norm_count(x, weight, False)


def _batch_norm_count(x: torch.Tensor, weight: Any, training: bool) -> int:
    if training:
        return _numel(x) * (5 if _affine(weight) else 4)
    return _numel(x) * (2 if _affine(weight) else 1)


def layer_norm_flop(
    x: torch.Tensor, shape: Any = None, weight: Any = None, *args: Any, **kwargs: Any
) -> int:
    """``native_layer_norm(x, shape, w, b, eps)``: mean, variance, normalise: 4 per element,
    5 with an affine weight (DeepSpeed's estimate)."""
    return _numel(x) * (5 if _affine(weight) else 4)


def group_norm_flop(x: torch.Tensor, weight: Any = None, *args: Any, **kwargs: Any) -> int:
    """``native_group_norm(x, w, b, N, C, HxW, groups, eps)``: as layer norm."""
    return _numel(x) * (5 if _affine(weight) else 4)


def rms_norm_flop(
    x: torch.Tensor, shape: Any = None, weight: Any = None, *args: Any, **kwargs: Any
) -> int:
    """``_fused_rms_norm(x, shape, w, eps)``: layer norm without the mean subtraction: 3 per
    element, 4 with a weight."""
    return _numel(x) * (4 if _affine(weight) else 3)


_REDUCTIONS = (
    "sum", "mean", "nansum", "nanmean", "prod", "amax", "amin", "max", "min", "aminmax",
    "argmax", "argmin", "var", "std", "var_mean", "std_mean", "norm", "linalg_vector_norm",
    "logsumexp", "cumsum", "cumprod", "logcumsumexp", "any", "all", "count_nonzero",
)  # fmt: skip
_SOFTMAX = ("softmax", "_softmax", "log_softmax", "_log_softmax", "_safe_softmax")
_POOLING = tuple(
    f"{name}{rank}d{suffix}"
    for rank in (1, 2, 3)
    for name, suffix in (
        ("max_pool", ""),
        ("max_pool", "_with_indices"),
        ("avg_pool", ""),
        ("adaptive_avg_pool", ""),
        ("_adaptive_avg_pool", ""),
        ("adaptive_max_pool", ""),
        ("fractional_max_pool", ""),
        ("lp_pool", ""),
    )
)
_POOLING += ("mkldnn_max_pool2d",)
_INTERPOLATION = tuple(
    f"upsample_{mode}{suffix}"
    for mode in ("linear1d", "bilinear2d", "bicubic2d", "trilinear3d")
    for suffix in ("", "_aa")
)
_INTERPOLATION += ("grid_sampler_2d", "grid_sampler_3d", "grid_sampler")

# Activations, named because the pointwise tag misses some (hardswish on torch 2.14).
_ACTIVATIONS = (
    "relu", "relu6", "hardtanh", "hardswish", "hardsigmoid", "elu", "selu", "celu",
    "leaky_relu", "prelu", "_prelu_kernel", "rrelu_with_noise", "gelu", "silu", "mish",
    "softplus", "softshrink", "hardshrink", "sigmoid", "tanh", "log_sigmoid_forward",
    "threshold", "glu",
)  # fmt: skip

# aten op name -> formula. Pointwise ops are found by their tag instead (see is_pointwise).
CONVENTIONS: dict[str, Formula] = {
    **dict.fromkeys(_REDUCTIONS, per_input_element),
    **dict.fromkeys(_SOFTMAX, per_input_element),
    **dict.fromkeys(_POOLING, per_input_element),
    **dict.fromkeys(_INTERPOLATION, per_output_element),
    **dict.fromkeys(_ACTIVATIONS, per_output_element),
    "native_batch_norm": batch_norm_flop,
    "_native_batch_norm_legit": batch_norm_legit_flop,
    "_native_batch_norm_legit_functional": batch_norm_legit_flop,
    "_native_batch_norm_legit_no_training": batch_norm_eval_flop,
    "cudnn_batch_norm": batch_norm_flop,
    "miopen_batch_norm": batch_norm_flop,
    "native_layer_norm": layer_norm_flop,
    "native_group_norm": group_norm_flop,
    "_fused_rms_norm": rms_norm_flop,
    "rms_norm": rms_norm_flop,
}


def is_pointwise(func: Any) -> bool:
    """An aten overload tagged pointwise (``torch.Tag.pointwise``: every output element is a
    function of the input elements at the same place)."""
    pointwise = getattr(getattr(torch, "Tag", None), "pointwise", None)
    return pointwise is not None and pointwise in getattr(func, "tags", ())


def convention_formula(func: Any, name: str) -> Formula | None:
    """The convention formula of an aten overload, or None when none applies."""
    formula = CONVENTIONS.get(name) or CONVENTIONS.get(name.rstrip("_"))
    if formula is None and (is_pointwise(func) or _is_pointwise_inplace(name)):
        return per_output_element
    return formula


def _is_pointwise_inplace(name: str) -> bool:
    """``hardswish_``: an in-place variant some torch versions leave untagged, while its
    out-of-place op (``hardswish``) is tagged pointwise."""
    if not name.endswith("_") or name.startswith("_"):
        return False
    packet = getattr(torch.ops.aten, name.rstrip("_"), None)
    overloads = getattr(packet, "overloads", None)
    if packet is None or overloads is None:
        return False
    return any(is_pointwise(getattr(packet, overload, None)) for overload in overloads())
