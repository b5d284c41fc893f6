"""The symbolic step of an inspection: bind hints to named dims, run the symbolic pass, attach
its formulas and conditions to the report (``--input Bx3xHxW``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from netinspect.errors import UsageError
from netinspect.records import InspectionReport
from netinspect.specs import InputSpec, bind_hints, default_hints, dim_names, parse_input_specs

if TYPE_CHECKING:
    from netinspect.pipeline.request import Request


@dataclass(frozen=True, slots=True)
class BoundInputs:
    """Named-dim specs, their hints, and the concrete specs the ordinary pass runs."""

    symbolic: tuple[InputSpec, ...]
    concrete: tuple[InputSpec, ...]
    hints: dict[str, int]
    hint_sources: dict[str, str]


def bind_hint_values(
    specs: tuple[InputSpec, ...],
    hints: Mapping[str, int] | None,
    default_inputs: tuple[str, ...] | list[str] | None,
) -> BoundInputs:
    """Each named dim's hint: ``hints`` (``--hint``) first, else from the model's default
    input at the same place, else the fallbacks in ``specs.default_hints``."""
    names = dim_names(specs)
    given = dict(hints or {})
    unknown = [n for n in given if n not in names]
    if unknown:
        listed = ", ".join(names) if names else "none (use a name such as H in --input)"
        raise UsageError(
            f"--hint {unknown[0]}: no --input dim is named {unknown[0]} (named: {listed})"
        )
    defaults = parse_input_specs(list(default_inputs)) if default_inputs else ()
    fallback = default_hints(specs, defaults)
    chosen: dict[str, int] = {}
    sources: dict[str, str] = {}
    for name in names:
        if name in given:
            chosen[name], sources[name] = given[name], "--hint"
        else:
            chosen[name], sources[name] = fallback[name]
    return BoundInputs(specs, bind_hints(specs, chosen), chosen, sources)


def bind_inputs(
    specs: tuple[InputSpec, ...] | None,
    hints: Mapping[str, int] | None,
    default_inputs: tuple[str, ...] | list[str] | None,
) -> tuple[tuple[InputSpec, ...] | None, BoundInputs | None]:
    """The specs the ordinary pass runs (named dims at their hints), and the binding; the
    specs unchanged and None without named dims."""
    if specs is not None and dim_names(specs):
        bound = bind_hint_values(specs, hints, default_inputs)
        return bound.concrete, bound
    if hints:
        raise UsageError("--hint needs an --input with named dims, e.g. --input 1x3xHxW")
    return specs, None


def add_symbolic(report: InspectionReport, model: nn.Module, request: Request) -> InspectionReport:
    """The report with formulas per row, the conditions torch needed and the exact sizes per
    name; when the symbolic pass cannot run, the report says why and keeps its numbers."""
    from netinspect.analysis.symbolic import attach_symbolic
    from netinspect.capture.symbolic import run_symbolic_pass

    bound = request.symbolic
    assert bound is not None
    sym = run_symbolic_pass(
        model,
        bound.symbolic,
        bound.hints,
        float_dtype=request.float_dtype,
        extra_kwargs={**request.target.default_args, **request.forward_args},
    )
    return attach_symbolic(report, sym, bound.symbolic, bound.hint_sources)
