"""Convolutions on meta (and fake) tensors refuse what a real convolution refuses.

Checked on torch 2.4.1, 2.9.1 and 2.14.1. On 2.4 (and 2.6) torch's meta convolution accepts an
input one smaller than the kernel and returns a 0-size dim, where a real convolution raises
"Kernel size can't be greater than actual input size"; on 2.9 and 2.10 it does so when only
one spatial dim is too small. A pass on meta would then call too small an input accepted.

Feature test: torch's own meta kernel is run once on a 2×3 input with a 3×3 kernel; where it
raises (2.14), nothing is added. Where it does not, ``strict_meta_conv()`` is a function mode
that checks each ``conv1d/2d/3d`` call's padded input against its dilated kernel first, with
the real kernel's message. Sizes may be symbolic: the comparison is then a guard of the pass,
as the real kernel's own check would be.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import torch
from torch.overrides import TorchFunctionMode


@cache
def meta_conv_is_lenient() -> bool:
    """Whether this torch's meta convolution accepts an input smaller than its kernel.

    Asked of torch's own kernel with the caller's modes set aside: the answer is cached, and a
    dispatch mode active at the first call (the probe's ``MetaBridge``) would answer for itself.
    """
    with _no_modes():
        weight = torch.empty(1, 1, 3, 3, device="meta")
        try:
            torch.nn.functional.conv2d(torch.empty(1, 1, 2, 3, device="meta"), weight)
        except RuntimeError:
            return False
        return True


@contextlib.contextmanager
def _no_modes() -> Iterator[None]:
    """Neither dispatch nor function modes (private ``_disable_current_modes``, on every
    release in the range; without it, the modes stay, as before)."""
    from torch.utils import _python_dispatch

    disable = getattr(_python_dispatch, "_disable_current_modes", None)
    with torch._C.DisableTorchFunction(), disable() if disable else contextlib.nullcontext():
        yield


def _per_dim(value: Any, n: int) -> tuple[Any, ...]:
    """A conv setting (an int or a sequence of one or n) as one value per spatial dim."""
    if isinstance(value, (list, tuple)):
        values = tuple(value)
        return values * n if len(values) == 1 else values
    return (value,) * n


def check_conv_input(args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """Raise as a real ``convNd`` does when its padded input is smaller than the kernel."""
    names = ("input", "weight", "bias", "stride", "padding", "dilation")
    given = dict(zip(names, args, strict=False)) | kwargs
    x, weight = given.get("input"), given.get("weight")
    if not isinstance(x, torch.Tensor) or not isinstance(weight, torch.Tensor):
        return
    n = weight.dim() - 2
    if n < 1 or x.dim() < n + 1:
        return
    padding = given.get("padding", 0)
    if isinstance(padding, str):  # "same" keeps the size, "valid" is padding 0
        if padding == "same":
            return
        padding = 0
    pads = _per_dim(padding, n)
    dilation = _per_dim(given.get("dilation", 1), n)
    spatial = tuple(x.shape[-n:])
    kernel = tuple(weight.shape[2:])
    padded = [s + 2 * p for s, p in zip(spatial, pads, strict=True)]
    dilated = [d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True)]
    if any(p < k for p, k in zip(padded, dilated, strict=True)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(str(p) for p in padded)}). "
            f"Kernel size: ({' x '.join(str(k) for k in dilated)}). "
            "Kernel size can't be greater than actual input size"
        )


class _StrictConv(TorchFunctionMode):
    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func in _CONVS:
            check_conv_input(args, kwargs)
        return func(*args, **kwargs)


_CONVS = frozenset({torch.conv1d, torch.conv2d, torch.conv3d})


def strict_meta_conv() -> Any:
    """A context in which convolutions check their input size first, where torch's meta
    kernel does not (a no-op context elsewhere)."""
    return _StrictConv() if meta_conv_is_lenient() else contextlib.nullcontext()
