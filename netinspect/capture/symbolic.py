"""The symbolic-shape pass: one forward pass with named dims (B, H, W) as torch SymInts.

torch's own machinery does the work (what ``torch.export`` uses): a ``ShapeEnv`` holds one
symbol per named dim, created with its hint; the inputs are fake tensors of those sizes on the
device of the weights (meta, or cpu after the device policy fell back there), and the model
runs under ``FakeTensorMode`` with its parameters left where they are.
Every shape is then an expression in the symbols, and every decision torch took on a size
(a shape check, a branch) is a guard in ``env.guards``. Guards are taken along the branch the
hints chose: they describe where this pass's shapes hold, not necessarily every size the
model accepts (``pipeline.sizes`` explores the rest).

Symbols are torch's (``s47``); we map them back to the user's names and to plain sympy
(``⌊a/b⌋`` as ``floor(a/b)``), which ``analysis.guards`` solves without torch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import sympy
import torch
from torch import nn

from netinspect.capture.callsite import relative_source
from netinspect.capture.exprs import python_text
from netinspect.capture.hooks import CallCapture
from netinspect.capture.sandbox import ForwardSandbox
from netinspect.capture.symbolic_calls import SymbolicCallMode
from netinspect.capture.tensors import named_tensor_leaves
from netinspect.errors import exception_text
from netinspect.spec_keywords import place_keyword
from netinspect.specs import InputSpec, TensorSpec, tensor_specs
from netinspect.torch_compat.frames import caller_frame
from netinspect.torch_compat.meta_conv import strict_meta_conv
from netinspect.torch_compat.shape_env import (
    SYMBOLIC_MACHINERY_MODULES,
    create_named_symbol,
    fake_tensor_mode,
    new_shape_env,
    quiet_fake_tensor_log,
)

SymShape = tuple[str, ...]


def plain_symbol(name: str) -> sympy.Symbol:
    """The sympy symbol netinspect uses for a named dim: a positive integer."""
    return sympy.Symbol(name, integer=True, positive=True)


@dataclass(frozen=True, slots=True)
class Guard:
    """One condition torch needed, in plain sympy over the user's names."""

    condition: sympy.Basic
    # The innermost row running when torch needed it (None outside any row or without rows).
    row_index: int | None
    # The model line that led to it ("torchvision/models/vgg.py:66"), when model code did.
    source: str | None = None


@dataclass
class SymbolicPass:
    """What one symbolic forward pass left: shapes as expressions, and the guards."""

    symbols: dict[str, sympy.Symbol]
    hints: dict[str, int]
    guards: list[Guard]
    # Per name: the range torch derived along the way ((2, None) = 2 or more).
    ranges: dict[str, tuple[int, int | None]]
    # Names torch turned into a constant: hint 0/1, or pinned by an equality guard.
    specialised: dict[str, int]
    # Per captured row (when rows were recorded): input and output shapes as expressions.
    row_shapes: list[tuple[tuple[SymShape, ...], tuple[SymShape, ...]]] = field(
        default_factory=list
    )
    row_keys: list[tuple[str, int, str]] = field(default_factory=list)
    outputs: tuple[SymShape, ...] = ()
    exception: BaseException | None = None
    # The analysis's tidied conditions, kept here so that they are worked out once.
    atoms_cache: Any = None

    @property
    def is_limitation(self) -> bool:
        """The pass stopped on something the symbolic machinery cannot do (a data-dependent
        size, an op without a symbolic kernel), not on the model rejecting the sizes."""
        return self.exception is not None and is_symbolic_limitation(self.exception)


def is_symbolic_limitation(exc: BaseException) -> bool:
    name = type(exc).__name__
    text = exception_text(exc)  # the model's exception: its __str__ may raise
    module = type(exc).__module__ or ""
    if module.startswith(SYMBOLIC_MACHINERY_MODULES):
        return True
    if isinstance(exc, NotImplementedError):
        return True
    markers = (
        "data-dependent",
        "data dependent",
        "concrete integers",
        "symbolic",
        "SymInt",
        "SymBool",
        "Cannot call sizes()",
        "unbacked",
        "DataDependent",
    )
    return name in ("GuardOnDataDependentSymNode", "UserError") or any(m in text for m in markers)


# --- torch's sympy -> plain sympy ---------------------------------------------------------------


def _folded_floor(arg: sympy.Expr) -> sympy.Expr:
    """⌊⌊y⌋/n⌋ as ⌊y/n⌋ (equal for a positive integer n and any real y): older torch (2.4)
    leaves a stack of stride-2 pools as ⌊⌊⌊H/2⌋/2⌋/2⌋, newer torch folds it to ⌊H/8⌋ itself."""
    coeff, rest = arg.as_coeff_Mul()
    if isinstance(rest, sympy.floor) and coeff.is_Rational and coeff.p == 1 and coeff.q > 1:
        return sympy.floor(rest.args[0] / coeff.q)
    return sympy.floor(arg)


def _plain(expr: Any, names: Mapping[sympy.Symbol, sympy.Symbol]) -> sympy.Basic:
    """torch's sympy functions (FloorDiv, ModularIndexing, PythonMod...) as plain sympy."""
    if isinstance(expr, bool):
        return sympy.true if expr else sympy.false
    if isinstance(expr, int):
        return sympy.Integer(expr)
    if isinstance(expr, sympy.Symbol):
        return names.get(expr, expr)
    if not expr.args:
        return expr
    args = [_plain(a, names) for a in expr.args]
    kind = type(expr).__name__
    if kind == "FloorDiv":
        return sympy.floor(args[0] / args[1]).replace(sympy.floor, _folded_floor)
    if kind == "CeilDiv":
        return sympy.ceiling(args[0] / args[1])
    if kind in ("CleanDiv", "IntTrueDiv", "FloatTrueDiv"):
        return args[0] / args[1]
    if kind == "ModularIndexing":
        return sympy.Mod(sympy.floor(args[0] / args[1]), args[2])
    if kind in ("PythonMod", "Mod"):
        return sympy.Mod(args[0], args[1])
    if kind in ("FloorToInt", "TruncToInt"):  # sizes are never negative: trunc is floor
        return sympy.floor(args[0])
    if kind == "CeilToInt":
        return sympy.ceiling(args[0])
    if kind in ("Identity", "ToFloat", "TruncToFloat"):
        return args[0]
    if kind in ("PowByNatural", "FloatPow"):
        return args[0] ** args[1]
    if kind == "Max":
        return sympy.Max(*args)
    if kind == "Min":
        return sympy.Min(*args)
    return expr.func(*args)


def _running_row(capture: CallCapture | None) -> int | None:
    """The innermost row still running: rows open in pre-order and close in reverse, so it is
    the last row not yet finished."""
    for row in reversed(capture.rows if capture is not None else ()):
        if not row.is_finished:
            return row.index
    return None


class _GuardLog(list):  # type: ignore[type-arg]  # torch's ShapeGuard list
    """``env.guards`` that also notes which row was running when each guard was added."""

    def __init__(self, running_row: Callable[[], int | None]) -> None:
        super().__init__()
        self.running_row = running_row
        self.rows: list[int | None] = []
        self.sources: list[str | None] = []

    def append(self, guard: Any) -> None:
        super().append(guard)
        self.rows.append(self.running_row())
        self.sources.append(_model_site(caller_frame(1)))


# netinspect's own frames (the package root, two levels up) are never the model's line.
_OWN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


def _model_site(frame: FrameType | None) -> str | None:
    """The first frame outside torch, contextlib and netinspect: the model's own line."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((_TORCH_DIR, _OWN_DIR)) and "contextlib" not in filename:
            return relative_source(filename, frame.f_lineno)
        frame = frame.f_back
    return None


@contextlib.contextmanager
def _entered(*managers: Any) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for m in managers:
            stack.enter_context(m)
        yield


def run_symbolic_pass(
    model: nn.Module,
    specs: Sequence[InputSpec],
    hints: Mapping[str, int],
    *,
    float_dtype: torch.dtype = torch.float32,
    extra_kwargs: Mapping[str, Any] | None = None,
    record_rows: bool = True,
) -> SymbolicPass:
    """Run ``model`` once on fake inputs whose named dims are symbols with the given hints.

    The model stays on its device and is not modified (the capture restores its modes). With
    ``record_rows`` the rows are captured as in an inspection, each dim an expression.
    """
    # torch's own stack summaries are skipped where it is safe: _GuardLog finds the model's line.
    env = new_shape_env()
    sizes: dict[str, Any] = {}
    torch_to_plain: dict[sympy.Symbol, sympy.Symbol] = {}
    specialised: dict[str, int] = {}
    for name, hint in hints.items():
        sym = create_named_symbol(env, name, hint)
        if isinstance(sym, sympy.Symbol):
            torch_to_plain[sym] = plain_symbol(name)
            sizes[name] = env.create_symintnode(sym, hint=hint)
        else:  # 0 and 1 are specialised: torch hands back the constant
            specialised[name] = int(sym)
            sizes[name] = int(sym)

    capture: CallCapture | None = None
    log = _GuardLog(lambda: _running_row(capture))
    env.guards = log
    fake_mode = fake_tensor_mode(env)
    result = SymbolicPass(
        symbols={n: plain_symbol(n) for n in hints},
        hints=dict(hints),
        guards=[],
        ranges={},
        specialised=specialised,
    )
    output: Any = None
    # The inputs go where the weights are: meta normally, cpu after the device policy fell
    # back there (fake tensors stand in for real weights as for meta ones).
    device = next((t.device for t in (*model.parameters(), *model.buffers())), torch.device("meta"))

    def tensor(t: TensorSpec) -> torch.Tensor:
        dtype = getattr(torch, t.dtype) if t.dtype else float_dtype
        shape = [sizes[d] if isinstance(d, str) else d for d in t.shape]
        return torch.zeros(shape, dtype=dtype, device=device)

    with _entered(
        quiet_fake_tensor_log(),
        fake_mode,
        SymbolicCallMode(),
        torch.no_grad(),
        torch.device(device),
        strict_meta_conv(),
    ):
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for spec in specs:
            items = [tensor(t) for t in tensor_specs(spec)]
            value: Any = items if isinstance(spec.value, tuple) else items[0]
            if spec.name:
                place_keyword(kwargs, spec.name, value)
            else:
                args.append(value)
        kwargs.update(extra_kwargs or {})
        managers = [CallCapture(model, count_costs=False)] if record_rows else []
        with _entered(*managers):
            capture = managers[0] if managers else None
            try:
                with ForwardSandbox():
                    output = model(*args, **kwargs)
            except KeyboardInterrupt:
                raise  # the user's Ctrl-C (or SIGTERM): exit 130/143, not the model's failure
            except BaseException as exc:
                # sys.exit() and custom BaseExceptions from the model's code are its failure
                # too, or they would end the run as a silent success (or a traceback).
                result.exception = exc
        texts = _ShapeTexts(env, torch_to_plain)
        if capture is not None:
            result.row_keys = [(r.name, r.call_index, r.type) for r in capture.rows]
            result.row_shapes = [
                (
                    tuple(texts.shape(s) for s in r.input_shapes),
                    tuple(texts.shape(s) for s in r.output_shapes),
                )
                for r in capture.rows
            ]
        capture = None
        result.outputs = tuple(texts.shape(tuple(t.shape)) for _, t in named_tensor_leaves(output))
    result.guards = [
        Guard(_plain(g.expr, torch_to_plain), row, source)
        for g, row, source in zip(log, log.rows, log.sources, strict=False)
    ]
    for sym, plain in torch_to_plain.items():
        vr = env.var_to_range.get(sym)
        name = str(plain)
        if vr is None:
            continue
        lower = int(vr.lower) if isinstance(vr.lower, sympy.Integer) else 1
        upper = int(vr.upper) if isinstance(vr.upper, sympy.Integer) else None
        result.ranges[name] = (lower, upper)
        replaced = env.replacements.get(sym)
        if replaced is not None and replaced.is_Integer:
            specialised[name] = int(replaced)
        elif lower == upper:
            specialised[name] = lower
    return result


class _ShapeTexts:
    """Dims as expression strings, each distinct expression converted once (a model has
    thousands of dims but few distinct expressions)."""

    def __init__(self, env: Any, names: Mapping[sympy.Symbol, sympy.Symbol]) -> None:
        self.env = env
        self.names = names
        self.cache: dict[Any, str] = {}

    def shape(self, shape: Sequence[Any]) -> SymShape:
        return tuple(self.dim(d) for d in shape)

    def dim(self, d: Any) -> str:
        if not isinstance(d, torch.SymInt):
            return str(int(d))
        expr = d.node.expr
        text = self.cache.get(expr)
        if text is None:
            text = python_text(_plain(self.env.replace(expr), self.names))
            self.cache[expr] = text
        return text
