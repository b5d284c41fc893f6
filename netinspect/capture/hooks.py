"""Capture every module call and every functional op called from model code, in call order.

Everything is installed in ``CallCapture.__enter__`` and removed in ``__exit__``: forward
pre/post hooks on each module, and a ``TorchFunctionMode`` that sees ``torch.flatten``,
``Tensor.view``, ``+``, ``cat``... Nothing global is patched and nothing outlives the block.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, TracebackType
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.hooks import RemovableHandle

from netinspect.capture.callsite import caller_outside_torch
from netinspect.capture.costs import CostMode
from netinspect.capture.flow import DataFlow
from netinspect.capture.params import ParamCounter, makes_tensor
from netinspect.capture.rows import (
    RowBuilder,
    describe,
    is_builtin_module,
    module_attributes,
    op_display,
    op_settings,
)
from netinspect.capture.tensors import (
    _storage_root,
    has_lazy_init,
    is_uninitialized,
    tensor_leaves,
)
from netinspect.records import LayerRecord
from netinspect.sources.tree import set_eval_mode
from netinspect.torch_compat.frames import caller_frame
from netinspect.torch_compat.ops import no_torch_function


@dataclass(frozen=True, slots=True)
class FailedCall:
    """The innermost row that raised, and the exception."""

    row_index: int
    exception: BaseException


class _OpMode(TorchFunctionMode):
    """Records functional ops called from model code (not from inside torch's own modules)."""

    def __init__(self, capture: CallCapture) -> None:
        super().__init__()
        self.capture = capture

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if self.capture.is_in_hook:
            # Our own hooks read .shape, .numel()... of the tensors: not model code, not rows.
            return func(*args, **kwargs)
        return self.capture.run_op(func, args, kwargs)


class CallCapture:
    """Context manager: hooks ``model`` and records rows while the block runs.

    Bookkeeping reads of .shape, .numel()... run in ``no_torch_function()``: plain attribute
    reads, not a trip through every active TorchFunctionMode (ours, torch.device's).

    On exit the hooks and the mode are removed and each module's training flag is restored,
    also when the forward pass raised.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        record_ops: bool = True,
        is_data_dependent: Callable[[torch.Tensor], bool] | None = None,
        count_costs: bool = True,
    ) -> None:
        self.model = model
        self.record_ops = record_ops
        # Whether a tensor's shape came from values (``MetaBridge.is_data_dependent``).
        self.is_data_dependent = is_data_dependent
        self.count_costs = count_costs  # off on the symbolic pass (capture/symbolic.py)
        self.rows: list[RowBuilder] = []
        self.failure: FailedCall | None = None
        self._names: dict[int, str] = {}
        self._handles: list[RemovableHandle] = []
        self._training: dict[nn.Module, bool] = {}
        # Running modules, innermost last, with the storage roots of their inputs.
        self._stack: list[tuple[nn.Module, RowBuilder]] = []
        self._input_roots: list[set[int]] = []
        self._call_counts: dict[str, int] = {}
        self._mode: _OpMode | None = None
        self._cost_mode: CostMode | None = None
        # Rows now running, innermost last (module calls and function ops): FLOPs go to [-1].
        self._active: list[RowBuilder] = []
        # Output tensors already credited to a row, so a container that returns its child's
        # output (or an op that returns its input) adds no activation bytes. Weak: no tensor
        # is kept alive, and a reused id is told apart by identity.
        self._produced: dict[int, weakref.ref[torch.Tensor]] = {}
        params, buffers = list(model.parameters()), list(model.buffers())
        self.flow = DataFlow(params, buffers)
        self.params = ParamCounter(model, self._names, params)
        # Lazy modules' weights not materialised yet: the pass materialises those it reaches.
        self.lazy_weights = [t for t in (*params, *buffers) if is_uninitialized(t)]
        # The model's own weights: a view of one (class_token.expand) is not an activation.
        self._weight_ids = self.flow.markers.keys()
        # torch modules whose forward hands tensors to child modules (nn.TransformerEncoderLayer):
        # the ops inside them are no rows, but their results are followed (see capture.flow).
        self._traced_inside: set[int] = set()
        # torch's own modules: the ops inside them (F.conv2d in Conv2d) are not rows.
        self._builtin: set[int] = set()
        # Op name -> calls, for aten ops with no FLOP formula (the totals are then partial).
        self.uncounted_ops: dict[str, int] = {}
        # FLOPs of ops that ran while no row was open (nothing in a normal pass).
        self.unattributed_flops = 0
        self.unattributed_macs = 0
        self.unattributed_matmul_flops = 0
        # Call-site answers of the module calls still running, by the id of their hook's
        # calling frame (alive until the call returns): see caller_outside_torch.
        self._known_sources: dict[int, tuple[CodeType, str | None]] = {}
        # True while our hooks run, so the op mode ignores the tensor queries they make.
        self.is_in_hook = False

    # --- context management -------------------------------------------------------------
    def __enter__(self) -> CallCapture:
        try:
            for name, module in self.model.named_modules(remove_duplicate=True):
                self._names[id(module)] = name
                self._training[module] = module.training
                if is_builtin_module(module):
                    self._builtin.add(id(module))
                    if next(module.children(), None) is not None:
                        self._traced_inside.add(id(module))
                if has_lazy_init(module):
                    # Runs before the lazy module's own pre-hook, which materialises its
                    # parameters (and runs their initialisers): not model code, not rows.
                    self._handles.append(
                        module.register_forward_pre_hook(self._enter_lazy_init, prepend=True)
                    )
                self._handles.append(
                    module.register_forward_pre_hook(self._pre_hook, with_kwargs=True)
                )
                self._handles.append(
                    module.register_forward_hook(
                        self._post_hook, with_kwargs=True, always_call=True
                    )
                )
            set_eval_mode(self.model)
            if self.record_ops:
                self._mode = _OpMode(self)
                self._mode.__enter__()  # type: ignore[no-untyped-call]  # torch's modes are untyped
            if self.count_costs:
                self._cost_mode = CostMode(self._charge, self._note_uncounted)
                self._cost_mode.__enter__()  # type: ignore[no-untyped-call]  # torch's modes are untyped
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        if self._cost_mode is not None:
            cost_mode, self._cost_mode = self._cost_mode, None
            cost_mode.__exit__(None, None, None)  # type: ignore[no-untyped-call]  # torch's modes are untyped
        if self._mode is not None:
            mode, self._mode = self._mode, None
            mode.__exit__(None, None, None)  # type: ignore[no-untyped-call]  # torch's modes are untyped
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for module, was_training in self._training.items():
            module.training = was_training
        self._training.clear()
        self.is_in_hook = False

    # --- costs -----------------------------------------------------------------------------
    def _charge(self, flops: int, macs: int, matmul_flops: int) -> None:
        if self.is_in_hook:
            return  # a lazy module materialising its weights: not the model's computation
        if self._active:
            row = self._active[-1]
            row.flops += flops
            row.macs += macs
            row.matmul_flops += matmul_flops
        else:
            self.unattributed_flops += flops
            self.unattributed_macs += macs
            self.unattributed_matmul_flops += matmul_flops

    def _note_uncounted(self, name: str) -> None:
        if not self.is_in_hook:
            self.uncounted_ops[name] = self.uncounted_ops.get(name, 0) + 1

    def _new_output_bytes(self, outputs: list[torch.Tensor], input_roots: set[int]) -> int:
        """Bytes of the output tensors this call allocated. A view counts its base when the
        call allocated the base (Linear on a 3-D input returns a view of its own matmul);
        views of the call's inputs or of the model's weights, in-place results and tensors
        already credited to an inner row are not new memory."""
        total = 0
        for t in outputs if self.count_costs else ():
            root = _storage_root(t)
            key = id(root)
            if key in input_roots or key in self._weight_ids:
                continue
            seen = self._produced.get(key)
            if seen is not None and seen() is root:
                continue
            self._produced[key] = weakref.ref(root)
            total += root.numel() * root.element_size()
        return total

    def _has_data_dependent_shape(self, leaves: list[torch.Tensor]) -> bool:
        check = self.is_data_dependent
        return check is not None and any(check(t) for t in leaves)

    def leave_row(self, row: RowBuilder) -> None:
        """Row ``row`` stopped running (normally or by raising)."""
        if self._active and self._active[-1] is row:
            self._active.pop()
        elif row in self._active:
            del self._active[self._active.index(row) :]

    # --- rows -----------------------------------------------------------------------------
    def _next_call_index(self, name: str) -> int:
        index = self._call_counts.get(name, 0)
        self._call_counts[name] = index + 1
        return index

    def _enter_lazy_init(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        # Reset by _pre_hook, which runs right after the lazy module's own pre-hook.
        self.is_in_hook = True

    def _pre_hook(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.is_in_hook = True
        try:
            with no_torch_function():
                self._open_module_row(module, args, kwargs)
        finally:
            self.is_in_hook = False

    def _open_module_row(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        name = self._names.get(id(module), type(module).__name__)
        parent = self._stack[-1][1] if self._stack else None
        leaves = tensor_leaves((args, kwargs))
        if parent is None:
            self.flow.note_model_inputs(leaves)
        shapes, dtypes = describe(leaves)
        # torch's frame that called our pre-hook runs until the module returns: its children's
        # call-site walks reach it and stop there.
        caller = caller_frame(2)
        source = caller_outside_torch(caller, self._known_sources)
        row = RowBuilder(
            index=len(self.rows),
            name=name,
            kind="module",
            type=type(module).__name__,
            depth=len(self._stack),
            parent=parent.name if parent is not None else None,
            call_index=self._next_call_index(name),
            source=source,
            input_shapes=shapes,
            input_dtypes=dtypes,
            attributes=module_attributes(module),
            inputs_from=self.flow.sources(leaves),
        )
        if caller is not None:  # None only where Python has no frames to walk
            row.caller_frame_id = id(caller)
            self._known_sources[id(caller)] = (caller.f_code, source)
        self.params.claim_own(row, module)
        self.rows.append(row)
        self._stack.append((module, row))
        self._input_roots.append({id(_storage_root(t)) for t in leaves})
        self._active.append(row)

    def _post_hook(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        self.is_in_hook = True
        try:
            with no_torch_function():
                self._close_module_row(module, output)
        finally:
            self.is_in_hook = False

    def _close_module_row(self, module: nn.Module, output: Any) -> None:
        if not self._stack or self._stack[-1][0] is not module:
            return
        _, row = self._stack.pop()
        self._known_sources.pop(row.caller_frame_id, None)
        input_roots = self._input_roots.pop()
        self.leave_row(row)
        exc = sys.exc_info()[1]
        if output is None and exc is not None:
            # always_call hooks run inside forward's ``except``: this module raised.
            self.note_failure(row, exc)
            return
        leaves = tensor_leaves(output)
        row.output_shapes, row.output_dtypes = describe(leaves)
        row.activation_bytes = self._new_output_bytes(leaves, input_roots)
        row.data_dependent = self._has_data_dependent_shape(leaves)
        self.flow.note_outputs(row.index, leaves)
        row.is_finished = True

    def run_op(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """One functional op called while the model runs: a row when model code called it."""
        if not self._stack:
            return func(*args, **kwargs)  # outside the model's forward
        owner = id(self._stack[-1][0])
        fresh = self.params.fresh_used(args, kwargs)
        row = None
        leaves: list[torch.Tensor] = []
        if owner not in self._builtin:
            leaves = tensor_leaves((args, kwargs))
            if leaves:
                with no_torch_function():
                    row = self._open_op_row(func, args, kwargs, leaves)
        elif owner in self._traced_inside:
            leaves = tensor_leaves((args, kwargs))
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            if row is not None:
                self.note_failure(row, exc)
            # The op tried to compute with the weights: they are used.
            self.params.claim_used(self._stack, fresh)
            raise
        finally:
            if row is not None:
                self.leave_row(row)
        with no_torch_function():
            if fresh and makes_tensor(result):
                self.params.claim_used(self._stack, fresh)
            if row is not None:
                self._close_op_row(row, result, leaves)
            elif owner in self._traced_inside:
                self.flow.note_derived(leaves, tensor_leaves(result))
        return result

    def _open_op_row(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        leaves: list[torch.Tensor],
    ) -> RowBuilder:
        shapes, dtypes = describe(leaves)
        short, type_name = op_display(func)
        parent = self._stack[-1][1]
        name = f"{parent.name}.{short}" if parent.name else short
        row = RowBuilder(
            index=len(self.rows),
            name=name,
            kind="function",
            type=type_name,
            depth=parent.depth + 1,
            parent=parent.name,
            call_index=self._next_call_index(name),
            source=caller_outside_torch(caller_frame(1)),
            input_shapes=shapes,
            input_dtypes=dtypes,
            attributes=op_settings(short, args, kwargs),
            inputs_from=self.flow.sources(leaves),
        )
        self.rows.append(row)
        self._active.append(row)
        return row

    def _close_op_row(self, row: RowBuilder, result: Any, inputs: list[torch.Tensor]) -> None:
        leaves = tensor_leaves(result)
        row.output_shapes, row.output_dtypes = describe(leaves)
        row.data_dependent = self._has_data_dependent_shape(leaves)
        row.is_finished = True
        # No tensor came out (x.size(), x.dim() with a tensor argument): not a data op.
        if not leaves and not row.flops and self.rows and self.rows[-1] is row:
            self.rows.pop()
            self._call_counts[row.name] -= 1
            return
        input_roots = {id(_storage_root(t)) for t in inputs}
        row.activation_bytes = self._new_output_bytes(leaves, input_roots)
        self.flow.note_outputs(row.index, leaves)

    def note_escape(self, exc: BaseException) -> None:
        """A BaseException (``sys.exit()``) left the model: torch runs always-call hooks only
        for ``Exception``, so blame the innermost module still running."""
        if self.failure is None and self._stack:
            self.note_failure(self._stack[-1][1], exc)

    def note_failure(self, row: RowBuilder, exc: BaseException) -> None:
        # The first failure seen is the innermost one; outer modules re-raise the same error.
        if self.failure is None:
            self.failure = FailedCall(row.index, exc)

    def records(self) -> tuple[LayerRecord, ...]:
        return tuple(r.freeze() for r in self.rows)
