"""Attention on meta as the target device would run it (private ``aten._scaled_dot_product_*``).

``F.scaled_dot_product_attention`` picks a kernel by device. On CPU and CUDA that is usually a
fused kernel that saves only the output and a log-sum-exp for backward; on the meta device it is
the math path, which materialises the B x H x T x T attention weights and saves them. A training
step measured on meta would then count memory the real step never allocates (quadratic in the
sequence length). ``TargetAttention`` routes meta calls to the fused op the target would choose:

- cpu: ``torch._fused_sdp_choice`` asked about small CPU stand-ins of the same dtype, heads,
  head size, mask rank and flags; when it answers flash, ``_scaled_dot_product_flash_attention_for_cpu``.
- cuda: flash (``_scaled_dot_product_flash_attention``) for float16/bfloat16 without a mask and a
  head size up to 256, else memory-efficient attention (``_scaled_dot_product_efficient_attention``),
  as torch's CUDA selection does when both are available. Grouped-query calls with fewer key
  heads are left on the math path there (cpu asks torch, which handles them).

Checked on torch 2.14.1 (the three ops have meta kernels and autograd formulas there). The
feature test looks for the ops; without them the math path runs and ``is_available`` says so.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

_FLASH = 1  # torch.nn.attention.SDPBackend.FLASH_ATTENTION's value in _fused_sdp_choice


def _op(name: str) -> Any | None:
    try:
        return getattr(torch.ops.aten, name)
    except (AttributeError, RuntimeError):
        return None


def is_available(target: str) -> bool:
    """Whether meta attention can follow ``target``'s kernel on this torch."""
    if target == "cpu":
        return _op("_scaled_dot_product_flash_attention_for_cpu") is not None and hasattr(
            torch, "_fused_sdp_choice"
        )
    return (
        _op("_scaled_dot_product_flash_attention") is not None
        and _op("_scaled_dot_product_efficient_attention") is not None
    )


def _bind(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> tuple[Any, ...]:
    return query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa


def _cpu_picks_flash(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    dropout_p: float,
    is_causal: bool,
    scale: float | None,
    enable_gqa: bool,
) -> bool:
    def small(t: torch.Tensor) -> torch.Tensor:
        shape = [1] * (t.dim() - 3) + [t.shape[-3], 2, t.shape[-1]]
        return torch.zeros(shape, dtype=t.dtype)

    small_mask = None
    if mask is not None:
        small_mask = torch.zeros([1] * (mask.dim() - 2) + [2, 2], dtype=mask.dtype)
    choice = torch._fused_sdp_choice(
        small(q), small(k), small(v), small_mask, dropout_p, is_causal,
        scale=scale, enable_gqa=enable_gqa,
    )  # fmt: skip
    return int(choice) == _FLASH


class TargetAttention(TorchFunctionMode):
    """While active, ``F.scaled_dot_product_attention`` on meta tensors runs ``target``'s fused
    kernel (see the module's docstring); everything else is untouched."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.is_enabled = is_available(target)

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention and self.is_enabled:
            out = self._fused(*_bind(*args, **kwargs))
            if out is not None:
                return out
        return func(*args, **kwargs)

    def _fused(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        dropout_p: float,
        is_causal: bool,
        scale: float | None,
        enable_gqa: bool,
    ) -> torch.Tensor | None:
        if q.device.type != "meta" or q.dim() != 4:
            return None
        if self.target == "cpu":
            if not _cpu_picks_flash(q, k, v, mask, dropout_p, is_causal, scale, enable_gqa):
                return None
            op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
            out = op(q, k, v, dropout_p, is_causal, attn_mask=mask, scale=scale)
            return out[0]  # type: ignore[no-any-return]
        if q.shape[-3] != k.shape[-3]:
            return None  # grouped-query attention: left on the math path for cuda
        half = q.dtype in (torch.float16, torch.bfloat16)
        if half and mask is None and q.shape[-1] <= 256:
            flash = torch.ops.aten._scaled_dot_product_flash_attention
            return flash(q, k, v, dropout_p, is_causal, False, scale=scale)[0]  # type: ignore[no-any-return]
        efficient = torch.ops.aten._scaled_dot_product_efficient_attention
        needs_lse = q.requires_grad or k.requires_grad or v.requires_grad
        out = efficient(q, k, v, mask, needs_lse, dropout_p, is_causal, scale=scale)
        return out[0]  # type: ignore[no-any-return]
