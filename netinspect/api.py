"""The Python API as a notebook or a script calls it: ``inspect_model`` and ``find_sizes``
(``netinspect.torchinfo_api`` adds torchinfo's ``summary``).

They run the same pipeline as the CLI, with Python's habits: a tuple of ints is one input's
shape, and an error names the argument to change (``inputs=``), not the CLI's flag
(``--input``). Torch is imported when a function runs, not with this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from netinspect.errors import ForwardFailed, NetinspectError

if TYPE_CHECKING:
    from netinspect.analysis.sizes import SizesReport
    from netinspect.compare.diff import ReportDiff
    from netinspect.records import InspectionReport

__all__ = [
    "as_inputs",
    "compare_reports",
    "find_sizes",
    "inspect_model",
    "is_shape",
    "python_spelling",
    "shape_spec",
]

# --- errors in Python's words ------------------------------------------------------------------

_ARGUMENTS = {
    "input": "inputs",
    "hint": "hints",
    "arg": "forward_args",
    "up-to": "up_to",
}


def _argument(match: re.Match[str]) -> str:
    return _ARGUMENTS.get(match.group(1), match.group(1))


def _argument_colon(match: re.Match[str]) -> str:
    return _argument(match) + ":"


# (pattern, replacement) in order: the CLI's flags as the Python arguments that do the same.
_SPELLINGS: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...] = (
    (r"pass one --input per input \(name=SPEC for a keyword\)",
     "pass one entry of inputs= per input (a dict for keywords)"),
    (r"\(one per --input\)", "(one per entry of inputs=)"),
    (r"an --input with named dims, e\.g\. --input (\S+)", r'named dims in inputs=, e.g. inputs="\1"'),
    (r"no --input dim is named", "no dim of inputs= is named"),
    (r"--(input|dtype|device|hint|arg|weights|up-to|vary|method|depth):", _argument_colon),
    (r"(?<=malformed )--(input|hint|arg)\b", _argument),
    (r"--input ((?=[^\s,;)]*[0-9=A-Z])[^\s,;)]+)", r'inputs="\1"'),
    (r"--input\b", "inputs="),
    (r"--dtype (\w+)", r'dtype="\1"'),
    (r"--dtype\b", "dtype="),
    (r"--device (\w+(?::\d+)?)", r'device="\1"'),
    (r"--device\b", "device="),
    (r"--hint (\w+)=(\d+)", r'hints={"\1": \2}'),
    (r"--hint (\w+)(?=:| given)", r'hints["\1"]'),
    (r"--hint\b", "hints="),
    (r"--arg (\w+)=(\S+)", r'forward_args={"\1": \2}'),
    (r"--arg (\w+)(?=:| given)", r'forward_args["\1"]'),
    (r"--arg\b", "forward_args="),
    (r"--weights FILE\b", "weights=PATH"),
    (r"--weights ((?=[^\s,;)]*[/.])[^\s,;)]+)", r'weights="\1"'),
    (r"--weights\b", "weights="),
    (r"--allow-import ([\w.]+)", r'allow_import=("\1",)'),
    (r"--allow-import\b", "allow_import="),
    (r"--up-to (\d+)", r"up_to=\1"),
    (r"--up-to\b", "up_to="),
    (r"--vary\b", "vary="),
    (r"--method\b", "method="),
    (r"--explain\b", "explain=True"),
    (r"--depth\b", "depth="),
    (r"\(--format json\)", "(report.json(), or netinspect MODEL -f json)"),
    (r"run with --debug for the traceback", "the model's traceback is err.__cause__"),
    (r"--debug\b", "NETINSPECT_TRACEBACK=1"),
)  # fmt: skip
_COMPILED = tuple((re.compile(p), r) for p, r in _SPELLINGS)


def python_spelling(text: str) -> str:
    """A message written for the CLI, with each flag as the Python argument that does the same
    (``--input 1x3x224x224`` -> ``inputs="1x3x224x224"``, ``--hint H=224`` ->
    ``hints={"H": 224}``)."""
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    return text


def _speak_python(exc: NetinspectError) -> None:
    """Rewrite the exception's text (and a failed report's diagnosis) in place, so that it is
    re-raised as the same object with its traceback and cause."""
    exc.args = tuple(python_spelling(a) if isinstance(a, str) else a for a in exc.args)
    if isinstance(exc, ForwardFailed) and exc.report.error is not None:
        from dataclasses import replace

        error = exc.report.error
        error = replace(
            error,
            message=python_spelling(error.message),
            hint=python_spelling(error.hint) if error.hint else error.hint,
        )
        exc.report = replace(exc.report, error=error)


def is_shape(value: object) -> bool:
    """A tuple, list or ``torch.Size`` of non-negative ints (not bools): one input's shape."""
    return (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)
    )


def shape_spec(shape: Iterable[int], dtype: Any = None) -> str:
    spec = "x".join(str(int(d)) for d in shape)
    if dtype is not None:
        spec += ":" + str(dtype).removeprefix("torch.")
    return spec


def as_inputs(inputs: Any) -> Any:
    """Python's habits for ``inputs``: a shape (``(1, 3, 224, 224)``, ``torch.Size``) is one
    input; a list of shapes is one input each; anything else passes through."""
    if is_shape(inputs):
        return [shape_spec(inputs)]
    if (
        isinstance(inputs, (tuple, list))
        and inputs
        and all(is_shape(i) or isinstance(i, str) for i in inputs)
        and any(is_shape(i) for i in inputs)
    ):
        return [shape_spec(i) if is_shape(i) else i for i in inputs]
    return inputs


_TORCHINFO_WORDS = {
    "input_size": "inputs=(1, 3, 224, 224) (a shape), or netinspect.summary(model, input_size=...)",
    "input_data": "inputs=tensor (or a list or dict of tensors)",
    "col_names": "report.table(columns=...) or netinspect.summary(..., col_names=...)",
    "depth": "report.table(depth=...)",
    "dtypes": 'inputs="1x300:int64" (a dtype per input spec)',
}


def _unexpected(function: str, names: Iterable[str]) -> TypeError:
    advice = [f"{n}: use {_TORCHINFO_WORDS[n]}" for n in names if n in _TORCHINFO_WORDS]
    listed = ", ".join(f"{n}=" for n in names)
    return TypeError(
        f"{function}() got unexpected argument(s) {listed}"
        + (f" ({'; '.join(advice)})" if advice else "")
    )


def _run(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except NetinspectError as exc:
        _speak_python(exc)
        raise


def inspect_model(
    model_or_name: Any,
    inputs: Any = None,
    device: Any = "auto",
    dtype: Any = None,
    *,
    weights: str | None = None,
    weights_partial: bool = False,
    allow_import: tuple[str, ...] = (),
    forward_args: Mapping[str, Any] | None = None,
    explain: bool = False,
    hints: Mapping[str, int] | None = None,
    **unexpected: Any,
) -> InspectionReport:
    """Inspect a model: an ``nn.Module`` (left exactly as it was), a torchvision name,
    ``timm:NAME``, ``hf:TYPE``, ``file.py:Name``, ``pkg.mod:Name`` or a YAML config path.

    ``inputs``: a shape (``(1, 3, 224, 224)``), a list of shapes (one per positional input),
    spec strings as on the CLI (``"1x3x224x224"``, ``"ids=1x16:int64"``; named dims
    ``"Bx3xHxW"`` add formulas at ``hints`` such as ``{"H": 224}``), or real tensors: a
    tensor, a list of them (positional) or a dict (keyword). ``device``: "auto" (meta, with a
    cpu fallback), "cpu", "cuda[:N]" or "meta". ``explain=True`` adds the shape arithmetic.

    The report displays itself (a one-line ``repr``, the table as ``str``, an HTML view in
    notebooks) and renders with ``table()``, ``markdown()``, ``json()``, ``html()`` and
    ``mermaid()``. Raises ``ForwardFailed`` (its ``.report`` is the partial report) when the
    model raises, and ``UsageError`` subclasses for requests that cannot run.
    """
    if unexpected:
        raise _unexpected("inspect_model", unexpected)
    from netinspect.pipeline.run import inspect_model as run

    report: InspectionReport = _run(
        lambda: run(
            model_or_name,
            as_inputs(inputs),
            device,
            dtype,
            weights=weights,
            weights_partial=weights_partial,
            allow_import=allow_import,
            forward_args=forward_args,
            explain=explain,
            hints=hints,
        )
    )
    return report


def find_sizes(
    model_name: str,
    inputs: str | Sequence[Any] | None = None,
    *,
    hints: Mapping[str, int] | None = None,
    up_to: int | None = None,
    allow_import: tuple[str, ...] = (),
    vary: str = "all",
    method: str = "auto",
) -> SizesReport:
    """Which input sizes a model accepts (``netinspect sizes``): ``inputs`` names the dims that
    vary (``"1x3xHxW"``; default: the model's own input with its spatial dims free). The
    result displays itself as ``netinspect sizes`` prints it."""
    from netinspect.pipeline.sizes import find_sizes as run

    specs = as_inputs(inputs)
    result: SizesReport = _run(
        lambda: run(
            model_name,
            specs,
            hints=hints,
            up_to=up_to,
            allow_import=allow_import,
            vary=vary,
            method=method,
        )
    )
    return result


def compare_reports(
    old: Any,
    new: Any,
    *,
    old_label: str | None = None,
    new_label: str | None = None,
) -> ReportDiff:
    """Compare two reports layer by layer (``netinspect diff``): each side an
    ``InspectionReport``, a report dict, or the path of a saved report or baseline JSON. The
    result displays itself (one-line ``repr``, the diff table as ``str``, an HTML view)."""
    from netinspect.compare.reports import compare_reports as run

    diff: ReportDiff = _run(lambda: run(old, new, old_label=old_label, new_label=new_label))
    return diff
