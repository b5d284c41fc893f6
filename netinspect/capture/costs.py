"""FLOPs and MACs of every aten op, measured on the same pass as the shapes (meta included).

Conventions (kept in one place so the numbers mean one thing everywhere):

* **FLOPs** come from ``torch.utils.flop_counter``'s registered, shape-based formulas (mm,
  addmm, bmm, baddbmm, convolution, scaled-dot-product / flash / efficient attention...). We
  reuse torch's formulas rather than re-deriving conv or matmul arithmetic. They count one
  multiply and one add per multiply-accumulate: ``mm`` of (m×k)·(k×n) is ``2·m·k·n``.
* **MACs** (multiply-accumulates) are FLOPs / 2 for those ops, since every registered formula
  is a matmul-like ``2 × MAC`` count. A bias add is not counted (torch's ``addmm`` convention).
* Ops that only move or re-label data (view, reshape, permute, cat, expand, clone, copy,
  index, select, embedding lookup, creation...) cost zero by nature.
* Elementwise, reduction, normalisation, pooling, softmax and interpolation ops are counted by
  DeepSpeed's conventions (``cost_conventions``): their FLOPs join the total, and are kept out
  of the matmul/conv figure (``matmul_flops``), which equals ``FlopCounterMode``'s count.
* Every other op (sorting, fused kernels such as the CPU ``_transformer_encoder_layer_fwd``
  fast path...) has no formula: it is *not counted* and named in ``uncounted_ops``, and the
  totals are marked partial. Never a silent zero.
* The CPU attention kernel ``_scaled_dot_product_flash_attention_for_cpu`` uses torch's
  attention formula too (torch's registry only lists the CUDA kernels). The CPU fused
  ``nn.TransformerEncoderLayer`` fast path is not taken during capture (our TorchFunctionMode
  disables it), and if a fused kernel ever runs it is listed as uncounted.
* Matmul-family ops that torch's registry leaves out get the same 2·MAC formulas here:
  ``_grouped_mm`` (MoE experts: Mixtral, Qwen-MoE, gpt-oss in transformers), ``mv``,
  ``addmv``, ``dot``/``vdot`` and ``addbmm`` (see each formula's derivation below).
* Ops with no formula that torch can decompose (``CompositeImplicit`` ones such as ``linear``
  or ``matmul`` when they reach us) are decomposed first, as ``FlopCounterMode`` does, so the
  matmul inside is counted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch

from netinspect.capture.cost_conventions import convention_formula
from netinspect.torch_compat.dynamo_free import DispatchMode
from netinspect.torch_compat.flop_counter import import_flop_counter
from netinspect.torch_compat.ops import is_higher_order_op, no_torch_function, optional_aten_op
from netinspect.torch_compat.sympy_free import startup_shortcuts_active


def _flop_counter() -> ModuleType:
    """torch's flop counter, imported at the first counted op: without triton during the CLI's
    start-up shortcuts (``torch_compat.flop_counter``), the plain way from a library caller."""
    return import_flop_counter(hide_triton=startup_shortcuts_active())


def grouped_mm_flop(
    mat_a: torch.Tensor, mat_b: torch.Tensor, *args: Any, out_val: Any = None, **kwargs: Any
) -> int:
    """``_grouped_mm(a, b, offs)``: one matmul per group, the groups cut by ``offs``.

    Every output element is a dot product over K, so FLOPs are ``2 · out.numel() · K``:
    2-D a (M×K) with 3-D b (G×K×N), rows of a split among the experts (MoE): out M×N,
    ``2·M·K·N`` -- each token row meets one expert's K×N, whatever the split; 3-D a with
    2-D b (columns split): out M×N, ``2·M·K·N``; 3-D with 3-D (a plain batch): ``2·G·M·K·N``.
    2-D with 2-D splits K (out G×M×N, each group over its own share of K): ``2·M·N·K``.
    Rows past ``offs[-1]`` are skipped by the kernel; routing sends every row somewhere, and
    on meta the offsets are unknown, so all rows are counted.
    """
    k = int(mat_a.shape[-1])
    if mat_a.dim() == 2 and mat_b.dim() == 2:
        return 2 * int(mat_a.shape[0]) * int(mat_b.shape[1]) * k
    return 2 * int(out_val.numel()) * k


def mv_flop(mat: torch.Tensor, vec: torch.Tensor, *args: Any, **kwargs: Any) -> int:
    """``mv``: (m×n)·(n) is m dot products of length n: ``2·m·n``."""
    return 2 * int(mat.numel())


def addmv_flop(
    bias: torch.Tensor, mat: torch.Tensor, vec: torch.Tensor, *args: Any, **kwargs: Any
) -> int:
    """``addmv``: as ``mv``; the bias add is not counted (torch's ``addmm`` convention)."""
    return 2 * int(mat.numel())


def dot_flop(a: torch.Tensor, b: torch.Tensor, *args: Any, **kwargs: Any) -> int:
    """``dot``/``vdot`` of two n-vectors: n multiplies and n adds, ``2·n``."""
    return 2 * int(a.numel())


def addbmm_flop(
    bias: torch.Tensor, b1: torch.Tensor, b2: torch.Tensor, *args: Any, **kwargs: Any
) -> int:
    """``addbmm``: the batch of (b×n×k)·(b×k×m) matmuls, summed: ``2·b·n·k·m``; the sum over
    the batch and the bias add are not counted (as for ``addmm``)."""
    batch, n, k = (int(d) for d in b1.shape)
    return 2 * batch * n * k * int(b2.shape[-1])


# Most of torch's formulas are registered through ``shape_wrapper``, which turns every tensor
# in the arguments into its shape with ``tree_map`` before calling the formula: two thirds of
# the cost of counting a conv on meta. ``_shapes`` does the same for the argument forms aten
# ops take (tensors, lists and tuples of them, dicts), and the formula underneath
# (``__wrapped__``) gets the result, exactly as shape_wrapper would pass it.
@functools.cache
def _shape_wrapper_code() -> Any:
    return getattr(_flop_counter().shape_wrapper(lambda: 0), "__code__", None)


def _shapes(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.shape
    kind = type(value)
    if kind is int or kind is bool or value is None:  # most arguments: strides, flags
        return value
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        mapped = [v if type(v) is int else _shapes(v) for v in value]
        return mapped if isinstance(value, list) else tuple(mapped)
    if isinstance(value, dict):
        return {k: _shapes(v) for k, v in value.items()}
    return value


def _fast_formula(formula: Callable[..., int]) -> Callable[..., int]:
    """``formula`` with ``_shapes`` in place of shape_wrapper's tree_map, when it is one."""
    raw = getattr(formula, "__wrapped__", None)
    if raw is None or getattr(formula, "__code__", None) is not _shape_wrapper_code():
        return formula  # registered get_raw=True: it reads the arguments itself

    def count(*args: Any, out_val: Any = None, **kwargs: Any) -> int:
        return int(raw(*_shapes(args), out_shape=_shapes(out_val), **_shapes(kwargs)))

    return count


# torch's own formulas, plus the CPU attention kernel that torch's registry leaves out (the
# same shape-based attention formula applies: two batched matmuls, 2·MAC each) and the
# matmul-family ops above. Built at the first counted op; an op this torch lacks (before 2.9,
# ``_grouped_mm``) cannot be called by any model, so leaving it out misses nothing.
@functools.cache
def _formulas() -> dict[Any, Callable[..., int]]:
    counter = _flop_counter()
    formulas: dict[Any, Callable[..., int]] = {
        **counter.flop_registry,
        torch.ops.aten.mv: mv_flop,
        torch.ops.aten.addmv: addmv_flop,
        torch.ops.aten.dot: dot_flop,
        torch.ops.aten.vdot: dot_flop,
        torch.ops.aten.addbmm: addbmm_flop,
    }
    optional = {
        "_scaled_dot_product_flash_attention_for_cpu": counter.sdpa_flop,
        "_grouped_mm": grouped_mm_flop,
    }
    for name, formula in optional.items():
        op = optional_aten_op(name)
        if op is not None:
            formulas[op] = formula
    return formulas


# aten packet names that only move, view or create data: zero FLOPs by nature.
ZERO_COST_OPS = frozenset(
    {
        # views and layout
        "view", "_unsafe_view", "reshape", "_reshape_alias", "permute", "transpose", "t",
        "expand", "expand_as", "squeeze", "unsqueeze", "flatten", "unflatten", "alias",
        "as_strided", "detach", "contiguous", "narrow", "slice", "select", "diagonal",
        "unbind", "split", "split_with_sizes", "unsafe_split", "chunk", "view_as",
        "lift_fresh", "lift_fresh_copy", "_local_scalar_dense", "resolve_conj", "resolve_neg",
        # copies and gathers
        "clone", "copy", "copy_", "_to_copy", "to", "cat", "stack", "index", "_unsafe_index",
        "index_select", "gather", "embedding", "repeat", "roll", "constant_pad_nd", "pad",
        "slice_scatter", "select_scatter", "index_put", "index_put_", "scatter", "masked_fill",
        "masked_fill_", "where", "tril", "triu", "flip", "upsample_nearest2d",
        "_upsample_nearest_exact2d", "pixel_shuffle", "channel_shuffle",
        # creation and fills
        "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros",
        "zeros_like", "new_zeros", "ones", "ones_like", "new_ones", "full", "full_like",
        "new_full", "fill", "fill_", "zero_", "arange", "scalar_tensor", "rand", "randn",
        "rand_like", "randn_like", "randint", "normal_", "uniform_", "bernoulli_", "set_",
    }
)  # fmt: skip

_SKIPPED = frozenset(
    {
        torch.ops.aten.is_contiguous.default,
        torch.ops.aten.size.default,
        torch.ops.aten.sym_size.default,
        torch.ops.aten.stride.default,
        torch.ops.aten.sym_stride.default,
        torch.ops.aten.storage_offset.default,
        torch.ops.aten.sym_storage_offset.default,
        torch.ops.aten.numel.default,
        torch.ops.aten.sym_numel.default,
        torch.ops.aten.dim.default,
        torch.ops.prim.layout.default,
        torch.ops.prim.device.default,
    }
)


def op_name(packet: Any) -> str:
    """``aten.addmm`` -> ``addmm``: the name users see in ``uncounted_ops``."""
    return str(getattr(packet, "__name__", packet)).split(".")[-1]


class CostMode(DispatchMode):
    """Adds each aten op's FLOPs to ``charge(flops, macs, matmul_flops)`` (``matmul_flops``:
    the part torch's flop counter counts) and names the ops with no formula through
    ``note_uncounted(name)``. Installed and removed by ``CallCapture``."""

    def __init__(
        self,
        charge: Callable[[int, int, int], None],
        note_uncounted: Callable[[str], None],
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._charge = charge
        self._note_uncounted = note_uncounted

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        action, formula, name = _plan(func)
        if action == "decompose":
            # CompositeImplicit ops (linear, matmul, einsum...) count through their pieces.
            with self:
                decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
            action = "run" if _is_zero_cost(name) else "uncounted"
        out = func(*args, **kwargs)
        if formula is not None:  # action "count" (a matmul or conv) or "convention"
            # The formulas read shapes only; no torch-function mode needs to see that.
            with no_torch_function():
                flops = int(formula(*args, **kwargs, out_val=out))
            if action == "count":
                self._charge(flops, flops // 2, flops)
            else:
                self._charge(flops, 0, 0)
        elif action == "uncounted":
            self._note_uncounted(name)
        return out


def _is_zero_cost(name: str) -> bool:
    return name.rstrip("_") in ZERO_COST_OPS or name in ZERO_COST_OPS


# What to do with each aten op, decided once per op: ("run" | "count" | "convention" |
# "decompose" | "uncounted", its formula, its name). A convention formula is taken before
# decomposing (softmax is counted once, not as its pieces); a zero-cost op before both.
# An op is the same op on every call, and a pass makes hundreds of them.
_PLANS: dict[Any, tuple[str, Callable[..., int] | None, str]] = {}


def _plan(func: Any) -> tuple[str, Callable[..., int] | None, str]:
    plan = _PLANS.get(func)
    if plan is not None:
        return plan
    if func in _SKIPPED or is_higher_order_op(func):
        plan = ("run", None, "")
    else:
        packet = func._overloadpacket
        name = op_name(packet)
        formula = _formulas().get(packet)
        formula = _fast_formula(formula) if formula is not None else None
        can_decompose = getattr(func, "_can_decompose", None)
        convention = None if formula is not None else convention_formula(func, name)
        if formula is not None:
            plan = ("count", formula, name)
        elif _is_zero_cost(name):
            plan = ("run", None, name)
        elif convention is not None:
            plan = ("convention", convention, name)
        elif can_decompose is None or can_decompose():
            plan = ("decompose", None, name)
        elif _is_zero_cost(name):
            plan = ("run", None, name)
        else:
            plan = ("uncounted", None, name)
    _PLANS[func] = plan
    return plan
