"""torchinfo's ``summary`` on netinspect: ``from netinspect import summary`` in place of
``from torchinfo import summary`` keeps the usual calls working and returns a report.

Its arguments map onto ``inspect_model``'s and onto the report's view (``DisplayOptions``);
what has no equivalent is refused by name, with why.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netinspect.api import inspect_model, is_shape, shape_spec
from netinspect.errors import UsageError

if TYPE_CHECKING:
    from netinspect.records import InspectionReport

__all__ = ["summary"]

# torchinfo's columns -> netinspect's (its input/output size columns are our shapes pair;
# "trainable" is shown in the params column, which marks frozen parameters).
_COLUMNS = {
    "input_size": "shapes",
    "output_size": "shapes",
    "num_params": "params",
    "trainable": "params",
    "mult_adds": "macs",
    # netinspect's own names are welcome too.
    "shapes": "shapes",
    "params": "params",
    "macs": "macs",
    "flops": "flops",
    "memory": "memory",
}
_NO_COLUMN = {
    "kernel_size": "kernel sizes are in the JSON (layers[].attributes.kernel_size) and in "
    "explain=True's arithmetic",
    "params_percent": "the params column gives counts; divide by report.totals.params",
}
# Row settings that say what netinspect always does.
_ROW_SETTINGS = {"depth", "var_names"}


def _summary_columns(col_names: Iterable[str] | None) -> tuple[str, ...] | None:
    if col_names is None:
        return None
    names = [col_names] if isinstance(col_names, str) else list(col_names)
    unknown = [n for n in names if n not in _COLUMNS]
    if unknown:
        reasons = "; ".join(f"{n!r}: {_NO_COLUMN.get(n, 'no such column')}" for n in unknown)
        raise UsageError(
            f"summary(col_names=...): unsupported column(s) {reasons} "
            f"(supported: {', '.join(_COLUMNS)})"
        )
    return tuple(dict.fromkeys(_COLUMNS[n] for n in names)) or None


def _with_batch_dim(shape: Sequence[int], batch_dim: int | None) -> list[int]:
    dims = [int(d) for d in shape]
    if batch_dim is not None:
        dims.insert(batch_dim if batch_dim >= 0 else len(dims) + batch_dim + 1, 1)
    return dims


def _size_specs(input_size: Any, dtypes: Sequence[Any] | None, batch_dim: int | None) -> list[str]:
    shapes = [input_size] if is_shape(input_size) else input_size
    if not isinstance(shapes, (list, tuple)) or not shapes or not all(is_shape(s) for s in shapes):
        raise UsageError(
            "summary(input_size=...): give one shape (1, 3, 224, 224) or a list of shapes, "
            f"one per input, not {input_size!r}"
        )
    dtypes = list(dtypes or [])
    if len(dtypes) > len(shapes):
        raise UsageError(
            f"summary(dtypes=...): {len(dtypes)} dtypes for {len(shapes)} input shape(s)"
        )
    dtypes += [None] * (len(shapes) - len(dtypes))
    return [
        shape_spec(_with_batch_dim(s, batch_dim), d) for s, d in zip(shapes, dtypes, strict=True)
    ]


def _data_inputs(input_data: Any, batch_dim: int | None) -> Any:
    import torch

    def one(value: Any, where: str) -> Any:
        if isinstance(value, torch.Tensor):
            return value.unsqueeze(batch_dim) if batch_dim is not None else value
        raise UsageError(
            f"summary(input_data=...): {where} is {type(value).__name__}, not a tensor "
            "(give tensors: one, a list of them or a dict of them)"
        )

    if isinstance(input_data, Mapping):
        return {k: one(v, f"input_data[{k!r}]") for k, v in input_data.items()}
    if isinstance(input_data, (list, tuple)):
        return [one(v, f"input_data[{i}]") for i, v in enumerate(input_data)]
    return one(input_data, "input_data")


def _is_interactive() -> bool:
    """A REPL, IPython or a notebook kernel: the returned report displays itself there."""
    if hasattr(sys, "ps1") or bool(getattr(sys.flags, "interactive", 0)):
        return True
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get is not None and get() is not None


def summary(
    model: Any,
    input_size: Any = None,
    input_data: Any = None,
    batch_dim: int | None = None,
    cache_forward_pass: bool | None = None,
    col_names: Iterable[str] | None = None,
    col_width: int = 25,
    depth: int = 3,
    device: Any = None,
    dtypes: Sequence[Any] | None = None,
    mode: str = "same",
    row_settings: Iterable[str] | None = None,
    verbose: int | None = None,
    **kwargs: Any,
) -> InspectionReport:
    """torchinfo's ``summary`` on netinspect: ``from netinspect import summary`` in place of
    ``from torchinfo import summary`` keeps the usual calls working, and returns a report.

    - ``input_size``: one shape or a list of shapes (batch included unless ``batch_dim``
      says where to add a batch of 1); ``dtypes``: one per shape. ``input_data``: a tensor, a
      list or a dict of tensors. Neither: the model's default input (torchvision names).
    - ``col_names``: input_size and output_size (both give the shapes columns), num_params
      and trainable (the params column, frozen ones marked), mult_adds (MACs); also
      netinspect's flops and memory. kernel_size and params_percent are refused, with why.
    - ``depth`` (default 3, as torchinfo's) and ``col_names`` are the report's view: ``str``,
      ``print`` and the notebook display use them; ``report.table(depth=None)`` shows all.
    - ``device``: None runs where the model is (its parameters' device; a model built on the
      meta device costs no memory), "cpu", "cuda" or "meta" move a copy there.
    - ``verbose``: 0 prints nothing, 1 prints the table, 2 the table with every row (no depth
      limit). Default: 1 in a script and 0 where the returned report displays itself (a REPL,
      IPython, a notebook), so a notebook shows one table, not two.
    - ``mode``: "same" or "eval" (netinspect runs the forward in eval mode); "train" is refused.
    - ``col_width`` (columns fit their contents) and ``cache_forward_pass`` are accepted and
      have no effect; ``row_settings`` may name "depth" and "var_names" (always shown).
    - Other keyword arguments go to ``model.forward``: tensors as keyword inputs (with
      ``input_data`` given as a dict, or alone), anything else as a plain argument.
    """
    from netinspect.records import DisplayOptions

    del cache_forward_pass  # every call inspects afresh; there is no cache to keep
    if not isinstance(col_width, int):
        raise UsageError(f"summary(col_width=...): an int, not {col_width!r}")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise UsageError(f"summary(depth=...): an int of 0 or more, not {depth!r}")
    if mode not in ("same", "eval"):
        detail = (
            "netinspect runs the forward in eval mode (shapes and counts are those of eval)"
            if mode == "train"
            else "choose 'same' or 'eval'"
        )
        raise UsageError(f"summary(mode={mode!r}) is not supported: {detail}")
    settings = list(row_settings or [])
    unknown_rows = [s for s in settings if s not in _ROW_SETTINGS]
    if unknown_rows:
        raise UsageError(
            f"summary(row_settings=...): unsupported {', '.join(map(repr, unknown_rows))} "
            "(netinspect always shows names and depth; 'ascii_only' and "
            "'hide_recursive_layers' have no equivalent)"
        )
    if verbose not in (None, 0, 1, 2):
        raise UsageError(f"summary(verbose=...): 0, 1 or 2, not {verbose!r}")
    if input_size is not None and input_data is not None:
        raise UsageError("summary(): give input_size= or input_data=, not both")
    columns = _summary_columns(col_names)

    import torch

    tensors = {k: v for k, v in kwargs.items() if isinstance(v, torch.Tensor)}
    plain = {k: v for k, v in kwargs.items() if k not in tensors}
    inputs: Any = None
    if input_size is not None:
        inputs = _size_specs(input_size, dtypes, batch_dim)
    elif input_data is not None:
        inputs = _data_inputs(input_data, batch_dim)
    if tensors:
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, dict):
            raise UsageError(
                f"summary(): tensor keyword argument(s) {', '.join(tensors)} with positional "
                "inputs: give every input by name in input_data={...}"
            )
        inputs = {**inputs, **_data_inputs(tensors, batch_dim)}
    report = inspect_model(
        model, inputs, device="auto" if device is None else device, forward_args=plain or None
    )
    view = DisplayOptions(depth=depth, columns=columns, collapse=False)
    report = replace(report, display=view)
    if verbose is None:
        verbose = 0 if _is_interactive() else 1
    if verbose:
        width = _terminal_width()
        every_row = replace(report, display=replace(view, depth=None))
        print((report if verbose == 1 else every_row).table(width=width), end="")
    return report


def _terminal_width() -> int:
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return max(int(columns), 60)
    return max(shutil.get_terminal_size((100, 24)).columns, 60)
