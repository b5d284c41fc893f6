"""``netinspect sizes`` from symbolic passes: the exact set of sizes each named dim accepts.

One symbolic pass at the hints gives the conditions along the hints' branch; solved, they give
a set of sizes where the model runs exactly like at the hint (``analysis.guards``). Sizes
outside it fail or take another branch (torch specialises size 1; a ``≠`` guard decides on a
size), so they are explored: a few sizes left over run one by one on meta, a longer remainder
gets another symbolic pass (only that dim symbolic, hinted at the nearest uncovered size). Each
pass covers a region, its hint included, so exploration ends. Probing (``pipeline.probe.probe_sizes``) stays as the fallback when
the symbolic pass cannot run at all (data-dependent ops, detection models).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netinspect.analysis.guard_eval import Unsolvable
from netinspect.analysis.guards import solve
from netinspect.analysis.intsets import contains, first_missing, missing, nearest_missing, union
from netinspect.analysis.sizes import (
    DimSizes,
    SizesReport,
    exact_bounds,
    first_positions,
    fixed_by,
    infer_accepted,
    method_detail,
    name_free_dims,
    outputs_at,
    probed_bounds,
    runs,
    scan_dim,
    summarize,
)
from netinspect.analysis.upsampling import upsampling_below
from netinspect.errors import UsageError, first_line
from netinspect.pipeline.dim_state import DimState
from netinspect.pipeline.probe import default_window
from netinspect.records import Progression, Shape
from netinspect.spec_keywords import place_keyword
from netinspect.specs import (
    InputSpec,
    TensorSpec,
    bind_hints,
    dim_names,
    format_input_spec,
    int_shape,
    parse_input_specs,
    tensor_specs,
)
from netinspect.symexpr import names_in

# A finite remainder of at most CONCRETE_LIMIT sizes may be run size by size; of at most FEW
# it always is (another symbolic pass would not pay off).
CONCRETE_LIMIT = 64
FEW = 8
# Symbolic passes per dim beyond the first, before the rest is probed in a window.
MAX_EXTRA_PASSES = 6


def find_sizes(
    model_name: str,
    input_spec: str | Sequence[str] | None = None,
    *,
    hints: Mapping[str, int] | None = None,
    up_to: int | None = None,
    allow_import: tuple[str, ...] = (),
    vary: str = "all",
    method: str = "auto",
    progress: Callable[[int, str], None] | None = None,
    fast_imports: bool = False,
) -> SizesReport:
    """Which sizes each named dim accepts (the others at their hints), exactly, from symbolic
    passes; ``method="probe"`` (or "auto" when they cannot run) probes sizes one by one.
    ``fast_imports`` as for ``inspect_model`` (the probes' cold start)."""
    from netinspect.pipeline.probe import check_up_to, input_texts, probe_sizes
    from netinspect.sources.resolve import resolve_target

    if method not in ("auto", "symbolic", "probe"):
        raise UsageError(f"--method must be auto, symbolic or probe, not {method!r}")
    if vary not in ("all", "first"):
        raise UsageError(f"--vary must be 'all' or 'first', not {vary!r}")
    check_up_to(up_to)
    start = time.perf_counter()
    target = resolve_target(model_name, allow_import=allow_import)
    texts = input_texts(target, input_spec, example="1x3xHxW")
    specs = parse_input_specs(texts)
    if dim_names(specs):
        from netinspect.pipeline.symbolic import bind_hint_values

        bound = bind_hint_values(specs, hints, target.default_inputs)
        named, given = specs, bound.hints
        linked = tuple(k for k, s in enumerate(specs) if dim_names([s]))
    else:
        if hints:
            raise UsageError("--hint needs an --input with named dims, e.g. --input 1x3xHxW")
        named, given, linked = name_free_dims(specs, vary)
    texts = [format_input_spec(s) for s in bind_hints(named, given)]

    def probe() -> SizesReport:
        return probe_sizes(
            model_name,
            texts,
            up_to=up_to,
            allow_import=allow_import,
            vary=vary,
            progress=progress,
            fast_imports=fast_imports,
        )

    if method == "probe":
        return probe()
    explorer = _Explorer(target, named, given, progress)
    main = explorer.symbolic(given)
    if not main.is_limitation:
        return explorer.report(main, linked, up_to, start)
    reason = f"{type(main.exception).__name__}: {first_line(main.exception)[:160]}"
    if method == "symbolic":
        raise UsageError(f"the symbolic pass cannot run {target.name}: {reason}")
    return dataclasses.replace(probe(), fallback=f"the symbolic pass could not run: {reason}")


class _Explorer:
    def __init__(
        self,
        target: Any,
        specs: tuple[InputSpec, ...],
        hints: Mapping[str, int],
        progress: Callable[[int, str], None] | None,
    ) -> None:
        import torch

        from netinspect.pipeline.inputs import check_spec_count
        from netinspect.sources.build import build_model
        from netinspect.sources.tree import set_eval_mode

        self.torch = torch
        self.target = target
        self.specs = specs
        self.hints = dict(hints)
        self.model = build_model(target, torch.device("meta"))
        set_eval_mode(self.model)
        self.extra = dict(target.default_args)
        check_spec_count(self.model, specs, self.extra)  # the request's mistake: exit 2
        self.outputs: dict[tuple[tuple[str, int], ...], tuple[Shape, ...] | None] = {}
        self.passes = 0
        self.concrete_passes = 0
        self.progress = progress
        # False once an extra symbolic pass covered only its own size.
        self.worth_symbolic = True

    # --- passes ---------------------------------------------------------------------------
    def symbolic(self, hints: Mapping[str, int], *, only: str | None = None) -> Any:
        """A symbolic pass with the given hints; ``only``: that name symbolic, the rest fixed."""
        from netinspect.capture.symbolic import run_symbolic_pass

        specs = self.specs
        if only is not None:
            specs = bind_hints(specs, {n: v for n, v in hints.items() if n != only})
            hints = {only: hints[only]}
        self.passes += 1
        if self.progress is not None:
            self.progress(self.passes + self.concrete_passes, f"{only or 'every dim'} (symbolic)")
        return run_symbolic_pass(
            self.model, specs, hints, extra_kwargs=self.extra, record_rows=only is None
        )

    def concrete(
        self, sizes: Mapping[str, int]
    ) -> tuple[tuple[Shape, ...] | None, BaseException | None]:
        """One plain meta pass at these sizes: its output shapes, or the exception."""
        from netinspect.capture.sandbox import ForwardSandbox
        from netinspect.capture.tensors import shape_of, tensor_leaves
        from netinspect.torch_compat.meta_conv import strict_meta_conv

        torch = self.torch
        key = tuple(sorted(sizes.items()))
        self.concrete_passes += 1
        if self.progress is not None:
            self.progress(
                self.passes + self.concrete_passes, ", ".join(f"{n}={v}" for n, v in sizes.items())
            )
        specs = bind_hints(self.specs, sizes)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        device = torch.device("meta")
        for spec in specs:
            items = [
                torch.zeros(int_shape(t), dtype=getattr(torch, t.dtype or "float32"), device=device)
                for t in tensor_specs(spec)
            ]
            value = items if isinstance(spec.value, tuple) else items[0]
            if spec.name:
                place_keyword(kwargs, spec.name, value)
            else:
                args.append(value)
        try:
            with torch.no_grad(), torch.device(device), ForwardSandbox(), strict_meta_conv():
                out = self.model(*args, **kwargs, **self.extra)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the model rejected these sizes (sys.exit() included)
            self.outputs[key] = None
            return None, exc
        shapes = tuple(tuple(int(d) for d in shape_of(t)) for t in tensor_leaves(out))
        self.outputs[key] = shapes
        return shapes, None

    # --- exploring one dim -----------------------------------------------------------------
    def region(self, sym: Any, name: str) -> tuple[Progression, ...]:
        """The sizes of ``name`` where ``sym``'s conditions hold (the others at the hints)."""
        from netinspect.analysis.symbolic import SYMBOLIC_MINIMUM, collect_conditions, symbol

        if name in sym.specialised:
            value = sym.specialised[name]
            return (Progression(value, 1, value),)
        others = {symbol(n): v for n, v in self.hints.items() if n != name}
        atoms = [a.condition.subs(others) for a in collect_conditions(sym) if name in a.names]
        return solve(atoms, symbol(name), lower=SYMBOLIC_MINIMUM).members

    def explore(self, name: str, main: Any, window: int) -> DimState:
        dim = DimState(name, self.hints[name])
        try:
            first = self.region(main, name)
        except Unsolvable as exc:
            # A set the solver could not follow is never printed as exact: probe instead
            # (older torch adds 32-bit indexing conditions such as 3·H·W ≤ 2147483647).
            dim.symbolic_passes += 1
            self._probe_window(dim, window, unsolved=str(exc))
            return dim
        (dim.rejected if main.exception is not None else dim.accepted).extend(first)
        if main.exception is None:
            dim.main_region = tuple(first)
        dim.symbolic_passes += 1
        extra = 0
        while True:
            covered = dim.covered()
            if not contains(covered, 1):
                # Size 1 is specialised by torch: always a concrete pass (and a first cost).
                self._probe(dim, 1)
                continue
            left = missing(covered, limit=CONCRETE_LIMIT)
            # A short remainder is run size by size; a longer one gets a symbolic pass first
            # (RAFT: one pass at 120 covers 16..120), unless the last one covered no more
            # than its own size (then sizes one by one are as good and cheaper).
            if left is not None and (
                len(left) <= FEW or not self.worth_symbolic or extra >= MAX_EXTRA_PASSES
            ):
                for x in left:
                    self._probe(dim, x)
                return dim
            # The missing size nearest the hint: the big regions around it come first.
            nearest = nearest_missing(covered, dim.hint)
            assert nearest is not None
            x = nearest
            if x < 2 or extra >= MAX_EXTRA_PASSES:
                if x >= 2:
                    dim.unresolved = True
                    return dim
                self._probe(dim, x)
                continue
            extra += 1
            sym = self.symbolic({**self.hints, name: x}, only=name)
            dim.symbolic_passes += 1
            if sym.is_limitation:
                self._probe(dim, x)
                continue
            if sym.exception is None and name in sym.specialised:
                self._probe_window(dim, window)
                return dim
            try:
                found = self.region(sym, name)
            except Unsolvable as exc:
                self._probe_window(dim, window, unsolved=str(exc))
                return dim
            if not contains(found, x):
                found = (*found, Progression(x, 1, x))
            target = dim.rejected if sym.exception is not None else dim.accepted
            target.extend(found)
            self.worth_symbolic = sum(
                1 for x in range(1, window + 1) if contains(found, x)
            ) > 1 or any(p.stop is None for p in found)

    def _probe_window(self, dim: DimState, window: int, unsolved: str | None = None) -> None:
        """Probe the dim size by size in 1..window (the earlier method: dense to 64, then a
        grid with bisection), reusing what the symbolic passes already settled."""
        dim.unsolved = unsolved

        def probe(n: int) -> tuple[Shape, ...] | None:
            if contains(dim.accepted, n):
                return ((n,),)
            if contains(dim.rejected, n):
                return None
            dim.concrete_sizes += 1
            return self.concrete({**self.hints, dim.name: n})[0]

        results = scan_dim(probe, dim.hint, window)
        accepted = infer_accepted(results, window)
        far = all(probe(f * window) is not None for f in (2, 4))
        dim.probed = (window, accepted, bool(accepted) and accepted[-1] == window and far)

    def _probe(self, dim: DimState, x: int) -> None:
        outputs, _ = self.concrete({**self.hints, dim.name: x})
        dim.concrete_sizes += 1
        (dim.accepted if outputs is not None else dim.rejected).append(Progression(x, 1, x))

    # --- the report ------------------------------------------------------------------------
    def report(
        self, main: Any, linked: tuple[int, ...], up_to: int | None, start: float
    ) -> SizesReport:
        from netinspect.analysis.symbolic import collect_conditions, valid_sets

        names = list(self.hints)
        dims = [self.explore(n, main, up_to or default_window(self.hints[n])) for n in names]
        atoms = collect_conditions(main)
        valid_sets(atoms, {n: v for n, v in self.hints.items() if n not in main.specialised})
        # Conditions the solver could not follow for some dim are not an answer to print.
        trusted = not any(d.unsolved for d in dims)
        joint = tuple(a.text for a in atoms if len(a.names) > 1 and a.is_binding and trusted)
        given_out = outputs_at(main.outputs, self.hints) if main.exception is None else None
        positions = first_positions(self.specs)
        records = [self._dim_record(d, main, positions.get(d.name, 0), up_to) for d in dims]
        fixed = fixed_by(main.row_keys, main.row_shapes)
        upsampling = upsampling_below(
            main.row_keys, main.row_shapes, self.hints, {d.label: d.minimum for d in records}
        )
        constant = not any(d.output_depends for d in records)
        base = bind_hints(self.specs, self.hints)[0].value
        assert isinstance(base, TensorSpec)
        return SizesReport(
            model=self.target.name,
            input_shape=int_shape(base),
            mode="eval",
            device="meta",
            dims=tuple(records),
            outputs=given_out or (),
            output_constant=constant,
            fixed_by=fixed if constant else None,
            probes=self.passes + sum(d.concrete_sizes for d in dims),
            seconds=round(time.perf_counter() - start, 3),
            summary=summarize(
                self.target.name, "eval", records, given_out or (), fixed if constant else None
            )
            + (f"; {upsampling}" if upsampling else ""),
            given_failure=self._failure(self.hints) if main.exception is not None else None,
            varied_inputs=linked,
            method="symbolic",
            joint_conditions=joint,
            outputs_symbolic=main.outputs,
            symbolic_passes=self.passes,
            upsampling=upsampling,
        )

    def _dim_record(self, d: DimState, main: Any, position: int, up_to: int | None) -> DimSizes:
        valid: tuple[Progression, ...] | None = union(d.accepted) if d.accepted else ()
        window = up_to or default_window(d.hint)
        if d.probed is not None:
            window, accepted_in_window, unbounded = d.probed
            minimum, maximum, step = probed_bounds(accepted_in_window, unbounded)
            valid = None
        else:
            assert valid is not None
            accepted_in_window, minimum, maximum, step = exact_bounds(valid, window)
        depends = any(d.name in names_in(dim) for shape in main.outputs for dim in shape)
        samples = []
        for n in sorted({d.hint} | ({minimum} if minimum is not None else set())):
            sizes = {**self.hints, d.name: n}
            if contains(d.main_region, n):
                out: tuple[Shape, ...] | None = outputs_at(main.outputs, sizes)
            else:
                out = self.outputs.get(tuple(sorted(sizes.items())))
                if out is None and (valid is None or contains(valid, n)):
                    out, _ = self.concrete(sizes)
            if out is not None:
                samples.append((n, out))
        below = (
            self._failure({**self.hints, d.name: minimum - 1}) if minimum and minimum > 1 else None
        )
        above = self._failure({**self.hints, d.name: maximum + 1}) if maximum is not None else None
        detail = method_detail(
            d.name,
            d.symbolic_passes,
            d.concrete_sizes,
            first_missing(d.covered()) if d.unresolved else None,
            window if d.probed is not None else None,
            d.unsolved,
        )
        return DimSizes(
            dim=position,
            label=d.name,
            given=d.hint,
            probed_up_to=window,
            accepted=runs(accepted_in_window),
            minimum=minimum,
            maximum=maximum,
            step=step,
            output_depends=depends,
            output_samples=tuple(samples),
            below_minimum=below,
            above_maximum=above,
            valid=valid,
            method_detail=detail,
        )

    def _failure(self, sizes: Mapping[str, int]) -> str | None:
        """The diagnosis of one failing size, from a captured pass."""
        from netinspect.errors import ForwardFailed, describe_exception
        from netinspect.pipeline.run import inspect_model

        texts = [format_input_spec(s) for s in bind_hints(self.specs, sizes)]
        try:
            inspect_model(self.model, inputs=texts, device="meta", forward_args=self.extra)
        except ForwardFailed as exc:
            return exc.report.error.message if exc.report.error else str(exc)
        except Exception as exc:
            return describe_exception(exc)
        return None
