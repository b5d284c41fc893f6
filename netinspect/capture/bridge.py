"""The meta device's limits, met op by op: ``MetaBridge``, a ``TorchDispatchMode`` around a pass.

Meta tensors have shapes and dtypes but no values. Most ops only need shapes; the ones that
do not fall in three kinds, and the bridge handles each the cheapest way it can:

* **kernel** -- an op with no meta kernel: it runs on cpu on zeros of the same shapes (its
  output shape does not depend on values) and the result goes back to meta.
* **dtype** -- a meta kernel that accepts only some dtypes (``_grouped_mm`` takes bfloat16 and
  float16, Mixtral's experts run in float32): it runs on meta in bfloat16 and the result is
  cast back. Shapes are all that meta computes anyway.
* **values** -- an op whose result depends on the values (``.item()``, ``nonzero``, a boolean
  mask, ``unique``, copying a meta tensor to cpu). Nothing on meta can answer it, so the bridge
  stops the pass with ``MetaLimitReached`` and the pipeline retries with real values: real
  inputs beside meta weights (``real_values``), a cpu build, or, when nothing real fits,
  zeros standing in for the unknown values (``stand_ins``). One exception: the result of an
  all-check (``x.all()``, torch's private ``_is_all_true``) stands in as true, so that the model's own
  argument checks pass as they would on real inputs (``torch.distributions`` validates its
  parameters that way: ``Normal(loc, scale)`` inside Gemma 3n's MLP).

To tell a limitation from the model's own error, a failing op is tried on cpu on zeros of the
same shapes: when that fails too, the error is the model's and is raised as the cpu run would
raise it, unless what the op refused was meta itself (then zeros prove nothing: the values are
needed, as for the ops above).

The bridge also marks tensors whose *shape* depends on values, so reports can say so
(``is_data_dependent``; see ``capture.values``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.weak import WeakIdKeyDictionary

from netinspect.capture.callsite import caller_outside_torch
from netinspect.capture.values import (
    ShapeMarks,
    SizeReads,
    is_mask_index,
    op_name,
)
from netinspect.errors import exception_text
from netinspect.torch_compat.dynamo_free import DispatchMode
from netinspect.torch_compat.frames import caller_frame
from netinspect.torch_compat.ops import tree_map

# Ops whose result depends on the input's values, not only its shape.
VALUE_OPS = frozenset(
    {
        "_local_scalar_dense", "nonzero", "masked_select", "_unique", "_unique2", "unique_dim",
        "unique_consecutive", "unique_dim_consecutive", "bincount", "repeat_interleave",
        "equal", "_to_copy", "torchvision::nms", "argwhere", "is_nonzero", "allclose",
    }
)  # fmt: skip
# What the user wrote, for the notes.
_PLAIN_NAMES = {
    "_local_scalar_dense": "`Tensor.item()`/`bool(tensor)`",
    "is_nonzero": "`bool(tensor)`",
    "_to_copy": "a copy from meta to a real device (`.cpu()`, `.tolist()`, `.to('cpu')`)",
    "index": "boolean-mask indexing (`x[mask]`)",
    "_unique": "`torch.unique`",
    "_unique2": "`torch.unique`",
    "unique_dim": "`torch.unique`",
    "torchvision::nms": "`torchvision.ops.nms`",
    "numpy": "`Tensor.numpy()`",
}

# Values kept real under ``real_values`` (what the model computes from its inputs alone: mask
# checks, positions): tensors up to this size. Larger ones stay on meta.
REAL_VALUE_BYTES = 64 * 2**20
# Zeros on cpu for one op's meta operands (the kernel trial and stand-ins), at most this much.
STAND_IN_BYTES = 256 * 2**20


@dataclass(frozen=True, slots=True)
class MetaLimit:
    """One op the meta device could not run as it was."""

    op: str  # the aten op: "nonzero", "_local_scalar_dense", "_grouped_mm"
    kind: str  # "values" | "write" | "kernel" | "dtype"
    source: str | None  # the model line that called it
    # How the bridge got past it in place ("bfloat16", "cpu", "zeros"); None: it stopped the pass.
    handled: str | None = None

    @property
    def what(self) -> str:
        if self.op in _PLAIN_NAMES:
            return _PLAIN_NAMES[self.op]
        return f"`{self.op}`" if "::" in self.op else f"`torch.{self.op}`"


class MetaLimitReached(RuntimeError):
    """Raised inside the pass when an op needs values that meta tensors do not have."""

    def __init__(self, limit: MetaLimit) -> None:
        self.limit = limit
        super().__init__(f"the meta device cannot run {limit.what}: its result depends on values")


def _tensors(args: Any, kwargs: dict[str, Any]) -> Iterator[torch.Tensor]:
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from (v for v in value if isinstance(v, torch.Tensor))


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _refuses_meta(exc: Exception) -> bool:
    """The op failed because its arguments are on meta, not because of their shapes."""
    return isinstance(exc, NotImplementedError) or "meta" in exception_text(exc).lower()


# Ops whose boolean result says "every element passed": their stand-in is true, not zero.
_ALL_CHECKS = frozenset({"all", "_is_all_true"})


def _to_meta(t: Any) -> Any:
    # 0-dim cpu tensors mix with any device already; leave them (and their values) alone.
    if isinstance(t, torch.Tensor) and not t.is_meta and t.dim() > 0:
        return t.to("meta")
    return t


def _writes_to(func: Any, args: Any) -> list[torch.Tensor]:
    """The positional tensor arguments an op writes to (``add_``'s self, ``out=``)."""
    written = []
    for arg, schema in zip(args, func._schema.arguments, strict=False):
        info = schema.alias_info
        if info is not None and info.is_write and isinstance(arg, torch.Tensor):
            written.append(arg)
    return written


class MetaBridge(DispatchMode):
    """Enter it around a forward pass (outside ``CallCapture``). ``real_values``: tensors that
    the model computes without its weights stay real on cpu (inputs given on cpu stay real, and
    meta is used only where weights are involved). ``stand_ins``: an op that needs the values
    of a meta tensor gets zeros instead of stopping the pass."""

    def __init__(self, *, real_values: bool = False, stand_ins: bool = False) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.real_values = real_values
        self.stand_ins = stand_ins
        # Limits met in order; the last one stopped the pass when its ``handled`` is None.
        self.limits: list[MetaLimit] = []
        self.marks = ShapeMarks()
        self._size_reads = SizeReads(self.marks)
        # Meta results of all-checks, which stand in as true (see the module's docstring).
        self._all_checks: WeakIdKeyDictionary = WeakIdKeyDictionary()

    # --- data-dependent shapes (capture.values) ----------------------------------------------
    @property
    def has_data_dependent_shapes(self) -> bool:
        return bool(self.marks)

    def is_data_dependent(self, t: torch.Tensor) -> bool:
        """True when ``t``'s shape came from values (see ``capture.values``)."""
        return self.marks.is_marked(t)

    def __enter__(self) -> MetaBridge:
        self._size_reads.__enter__()  # type: ignore[no-untyped-call]  # torch's modes are untyped
        try:
            super().__enter__()  # type: ignore[no-untyped-call]
        except BaseException:
            self._size_reads.__exit__(None, None, None)  # type: ignore[no-untyped-call]
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)  # type: ignore[no-untyped-call]
        finally:
            self._size_reads.__exit__(*exc)  # type: ignore[no-untyped-call]

    # --- the dispatch ----------------------------------------------------------------------------
    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if self.real_values:
            real = self._keep_real(func, args, kwargs)
            if real is not None:
                args, kwargs = real
        tensors = list(_tensors(args, kwargs))
        # The caller's tensors, before any move to meta: they carry the data-dependent marks.
        inputs, original_args = tensors, args
        has_meta = any(t.is_meta for t in tensors)
        if has_meta and any(not t.is_meta and t.dim() > 0 for t in tensors):
            if any(not t.is_meta for t in _writes_to(func, args)):
                # Meta values cannot be written into a real tensor: its values would be lost.
                return self._values_needed(func, args, kwargs, kind="write")
            args, kwargs = tree_map(_to_meta, (args, kwargs))
        try:
            out = func(*args, **kwargs)
        except MetaLimitReached:
            raise
        except Exception as exc:
            if not has_meta:
                raise
            out = self._work_around(func, args, kwargs, exc)
        self.marks.mark_op(func, original_args, inputs, out)
        if (
            self.stand_ins
            and isinstance(out, torch.Tensor)
            and out.is_meta
            and out.dtype == torch.bool
            and op_name(func) in _ALL_CHECKS
        ):
            self._all_checks[out] = True
        return out

    def _stand_in(self, t: Any) -> Any:
        """A meta tensor's stand-in on cpu: zeros, or true for an all-check's result."""
        if not (isinstance(t, torch.Tensor) and t.is_meta):
            return t
        fill = torch.ones if t in self._all_checks else torch.zeros
        return fill(t.shape, dtype=t.dtype, device="cpu")

    def _keep_real(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        """Under ``real_values``: factories aimed at meta and moves of real tensors to meta
        stay on cpu, when small. None: leave the call as it is."""
        device = kwargs.get("device")
        if device is None or torch.device(device).type != "meta":
            return None
        cpu = {**kwargs, "device": torch.device("cpu")}
        if op_name(func) == "_to_copy" and isinstance(args[0], torch.Tensor):
            source = args[0]
            if not source.is_meta and _nbytes(source) <= REAL_VALUE_BYTES:
                return args, cpu
            return None
        if any(True for _ in _tensors(args, kwargs)):
            return None
        probe = func(*args, **kwargs)  # on meta: free, and tells the size
        if isinstance(probe, torch.Tensor) and _nbytes(probe) <= REAL_VALUE_BYTES:
            return args, cpu
        return None

    def _work_around(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], exc: Exception
    ) -> Any:
        name = op_name(func)
        floats = [
            t
            for t in _tensors(args, kwargs)
            if t.is_meta and t.dtype in (torch.float32, torch.float64)
        ]
        if floats and name not in VALUE_OPS:
            out = self._in_bfloat16(func, args, kwargs, floats[0].dtype)
            if out is not None:
                self._note(MetaLimit(name, "dtype", self._source(), handled="bfloat16"))
                return out
        meta_bytes = sum(_nbytes(t) for t in _tensors(args, kwargs) if t.is_meta)
        if meta_bytes > STAND_IN_BYTES:
            if name in VALUE_OPS or is_mask_index(func, args):
                return self._values_needed(func, args, kwargs, trial=False)
            raise exc
        # The same op on zeros on cpu: when that fails too, the error is the model's own,
        # unless meta was what the op refused (no meta kernel, or a meta tensor where it reads
        # values on cpu: pack_padded_sequence's lengths); then zeros prove nothing (lengths of
        # 0 are refused too) and the values are needed.
        stand_in_args, stand_in_kwargs = tree_map(self._stand_in, (args, kwargs))
        try:
            result = func(*stand_in_args, **stand_in_kwargs)
        except Exception:
            if _refuses_meta(exc):
                return self._values_needed(func, args, kwargs, trial=False)
            raise
        if (
            name in VALUE_OPS
            or is_mask_index(func, args)
            or not isinstance(result, (torch.Tensor, list, tuple))
        ):
            return self._values_needed(func, args, kwargs, result=result)
        self._note(MetaLimit(name, "kernel", self._source(), handled="cpu"))
        return tree_map(lambda t: t.to("meta") if isinstance(t, torch.Tensor) else t, result)

    def _in_bfloat16(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], dtype: torch.dtype
    ) -> Any:
        def down(t: Any) -> Any:
            if (
                isinstance(t, torch.Tensor)
                and t.is_meta
                and t.dtype in (torch.float32, torch.float64)
            ):
                return t.to(torch.bfloat16)
            return t

        def up(t: Any) -> Any:
            return t.to(dtype) if isinstance(t, torch.Tensor) and t.dtype == torch.bfloat16 else t

        try:
            out = func(*tree_map(down, args), **tree_map(down, kwargs))
        except Exception:
            return None
        return tree_map(up, out)

    def _values_needed(
        self,
        func: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        trial: bool = True,
        result: Any = None,
        kind: str = "values",
    ) -> Any:
        """An op that needs values a meta tensor does not have: zeros stand in for them when
        allowed (and small enough), otherwise the pass stops here."""
        name = op_name(func)
        if self.stand_ins and trial:
            if result is None:
                stand_in_args, stand_in_kwargs = tree_map(self._stand_in, (args, kwargs))
                result = func(*stand_in_args, **stand_in_kwargs)
            self._note(MetaLimit(name, kind, self._source(), handled="zeros"))
            return result
        limit = MetaLimit(name, kind, self._source())
        self._note(limit)
        raise MetaLimitReached(limit)

    def _note(self, limit: MetaLimit) -> None:
        if limit not in self.limits:
            self.limits.append(limit)

    @staticmethod
    def _source() -> str | None:
        return caller_outside_torch(caller_frame(1))

    @property
    def stopped_by(self) -> MetaLimit | None:
        """The limit that stopped the pass, if one did."""
        for limit in reversed(self.limits):
            if limit.handled is None:
                return limit
        return None
