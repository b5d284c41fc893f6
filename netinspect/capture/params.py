"""Which row each parameter is counted at: once, at the innermost module that owns and uses it.

A module's own weights are counted when it is first called. A weight that an op uses before
its own module ran (or whose module never runs: ``nn.MultiheadAttention``'s ``out_proj``,
Swin's ``F.linear(x, self.qkv.weight)``, a head tied to an embedding) is counted at the
innermost running module that owns it, the code that uses it. Reading ``.dtype``, ``.shape``,
``.device`` or ``.requires_grad`` is not use: only an op that makes a tensor from the weight
(or that raised trying) counts, so ``self.child.weight.dtype`` in a parent's forward leaves
the weight to the child. A lazy module's uninitialised parameters are counted once its first
call has materialised them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from netinspect.capture.rows import RowBuilder
from netinspect.capture.tensors import WeightKey, is_trainable, is_uninitialized, weight_tensors


class ParamCounter:
    """Counts each weight tensor once and says at which row."""

    def __init__(
        self, model: nn.Module, names: dict[int, str], params: Sequence[nn.Parameter]
    ) -> None:
        self.model = model
        self._module_names = names
        self._counted: set[WeightKey] = set()
        self._model_params = {id(p) for p in params}
        # id(param) -> every qualified name it has (tied weights have several); built on the
        # first weight used outside its module, which most models never do.
        self._qualified: dict[int, list[str]] | None = None

    def claim_own(self, row: RowBuilder, module: nn.Module) -> None:
        """A module call: its own weights not counted yet are counted here."""
        self._claim(row, weight_tensors(module, recurse=False), note_shared=True)

    def fresh_used(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[nn.Parameter]:
        """The model's parameters passed to an op (directly or in a list) not counted yet."""
        found: list[nn.Parameter] = []
        for value in (*args, *kwargs.values()):
            if isinstance(value, nn.Parameter):
                found.append(value)
            elif isinstance(value, (list, tuple)):
                found += [v for v in value if isinstance(v, nn.Parameter)]
        return [
            p
            for p in found
            if id(p) not in self._counted
            and id(p) in self._model_params
            and not is_uninitialized(p)
        ]

    def claim_used(
        self, stack: Sequence[tuple[nn.Module, RowBuilder]], params: list[nn.Parameter]
    ) -> None:
        """``params`` were used by an op while the modules in ``stack`` ran."""
        for p in params:
            if id(p) not in self._counted:
                row = self._owner_row(stack, id(p))
                self._claim(row, iter([(id(p), p)]), note_shared=False)

    def _owner_row(self, stack: Sequence[tuple[nn.Module, RowBuilder]], key: int) -> RowBuilder:
        if self._qualified is None:
            self._qualified = {}
            for name, p in self.model.named_parameters(remove_duplicate=False):
                self._qualified.setdefault(id(p), []).append(name)
        names = self._qualified.get(key, [])
        for module, row in reversed(stack):
            prefix = self._module_names.get(id(module))
            if prefix == "" or (
                prefix is not None and any(n.startswith(prefix + ".") for n in names)
            ):
                return row
        return stack[-1][1]

    def _claim(
        self,
        row: RowBuilder,
        weights: Iterator[tuple[WeightKey, torch.Tensor]],
        *,
        note_shared: bool,
    ) -> None:
        for key, t in weights:
            if is_uninitialized(t):
                continue  # counted once the module's first call has materialised it
            numel = t.numel()
            if key not in self._counted:
                self._counted.add(key)
                row.params += numel
                if is_trainable(key, t):
                    row.trainable_params += numel
            elif note_shared:
                row.shared_params += numel


def makes_tensor(result: Any) -> bool:
    """Whether an op's result holds a tensor: ``.dtype``, ``.shape``, ``.size()``, ``.dim()``
    and friends return none, so reading them is not using a weight."""
    if isinstance(result, torch.Tensor):
        return True
    return isinstance(result, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in result)
