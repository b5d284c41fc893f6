"""``netinspect sizes``: which input sizes a model accepts, found by probing on the meta device.

The model is built once on meta (no memory, no init) and run in eval mode, without hooks, once
per candidate size: a pass costs milliseconds there. Each free dim (the spatial dims of an
NCHW-like input, or the length of an (N, L) one) is varied alone, the others kept as given.
Then a few captured passes explain the edges: why the size below the minimum (or above the
maximum) fails, and which adaptive pooling layer fixes the output.

The records and ``summarize`` are pure; torch is imported only inside ``probe_sizes``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from netinspect.analysis.sizes import (
    _FAR_FACTORS,
    DimSizes,
    Outcome,
    SizesReport,
    dim_labels,
    find_step,
    infer_accepted,
    runs,
    scan_dim,
    summarize,
)
from netinspect.errors import InputSpecError, UsageError
from netinspect.records import (
    Shape,
)
from netinspect.sources.tree import restoring_recursion_limit

# --- probing (torch) -----------------------------------------------------------------------

# The largest --up-to (and given size) a dim is probed to. The search itself is logarithmic,
# but the accepted sizes are listed one by one up to the window (and the far probes run at 4x
# it): 10^12 exhausted memory, 10^26 overflowed torch's int64 shapes.
MAX_UP_TO = 100_000

# ``progress(passes, what)``: called before each pass, ``what`` says which size ("H=448").
Progress = Callable[[int, str], None]


@restoring_recursion_limit()  # a deep module tree raises it while it is probed
def default_window(given: int) -> int:
    """The sizes tried without ``--up-to``: up to twice the given size (64 at least), never
    past ``MAX_UP_TO``."""
    return min(max(2 * given, 64), MAX_UP_TO)


def check_up_to(up_to: int | None) -> None:
    """``--up-to`` between 1 and ``MAX_UP_TO`` (both methods: the symbolic one lists the
    accepted runs up to it)."""
    if up_to is not None and up_to < 1:
        raise UsageError("--up-to must be at least 1")
    if up_to is not None and up_to > MAX_UP_TO:
        raise UsageError(f"--up-to {up_to} is above the limit of {MAX_UP_TO:,}")


def input_texts(target: Any, input_spec: str | Sequence[str] | None, example: str) -> list[str]:
    """The ``--input`` texts ``sizes`` works on: the given ones, else the target's default.
    Without either, the error shows what ``forward()`` takes (``example`` for an image)."""
    requested = [input_spec] if isinstance(input_spec, str) else list(input_spec or ())
    texts = requested or list(target.default_inputs or ())
    if not texts:
        from netinspect.pipeline.inputs import no_default_input
        from netinspect.sources.build import build_model
        from netinspect.sources.torchvision import wrapped_model_inputs

        built = build_model(target, "meta")
        wrapped = wrapped_model_inputs(built)
        if wrapped is None:
            raise no_default_input(target.name, built, image=example)
        texts = list(wrapped[0])
    return texts


def probe_sizes(
    model_name: str,
    input_spec: str | Sequence[str] | None = None,
    *,
    up_to: int | None = None,
    allow_import: tuple[str, ...] = (),
    vary: str = "all",
    progress: Progress | None = None,
    fast_imports: bool = False,
) -> SizesReport:
    """Probe which sizes of each free dim of the first input the model accepts (meta device,
    eval mode). ``up_to``: the probed window per dim (default: twice the given size, at least
    64). ``vary``: "all" changes every input shaped like the first in lockstep with it (two
    images that must match), "first" only the first. Raises UsageError when the model cannot
    run on meta at all. ``fast_imports`` as for ``inspect_model`` (off: the caller's process
    is left as it is)."""
    from contextlib import nullcontext

    from netinspect.torch_compat.sympy_free import kernels_without_imports

    with kernels_without_imports() if fast_imports else nullcontext():
        return _probe(model_name, input_spec, up_to, allow_import, vary, progress)


def _probe(
    model_name: str,
    input_spec: str | Sequence[str] | None,
    up_to: int | None,
    allow_import: tuple[str, ...],
    vary: str,
    progress: Progress | None,
) -> SizesReport:
    import time

    import torch

    from netinspect.capture.bridge import REAL_VALUE_BYTES, MetaBridge, MetaLimitReached
    from netinspect.capture.sandbox import ForwardSandbox
    from netinspect.errors import ForwardFailed, describe_exception, exception_text
    from netinspect.pipeline.device import describe_limit
    from netinspect.pipeline.inputs import _Prepared, check_forward_arguments
    from netinspect.pipeline.run import inspect_model
    from netinspect.sources.build import build_model
    from netinspect.sources.resolve import resolve_target
    from netinspect.sources.tree import make_recursion_room
    from netinspect.specs import (
        TensorSpec,
        bind_hints,
        default_hints,
        format_input_spec,
        int_shape,
        is_symbolic,
        parse_input_specs,
    )
    from netinspect.torch_compat.meta_conv import strict_meta_conv

    start = time.perf_counter()
    target = resolve_target(model_name, allow_import=allow_import)
    specs_text = input_texts(target, input_spec, example="1x3x224x224")
    specs = parse_input_specs(specs_text)
    if is_symbolic(specs):
        # Probing tries sizes; named dims are the symbolic method's (pipeline.sizes).
        specs = bind_hints(specs, {n: h for n, (h, _) in default_hints(specs, ()).items()})
    first = specs[0]
    if not isinstance(first.value, TensorSpec):
        raise InputSpecError(specs_text[0], "sizes varies a plain tensor input, not a list input")
    base = first.value
    base_shape = int_shape(base)
    labels = dim_labels(base_shape)
    if not labels:
        raise InputSpecError(specs_text[0], "a 1-D input has no free dim to vary")
    check_up_to(up_to)
    too_big = [base_shape[d] for d in labels if base_shape[d] > MAX_UP_TO]
    if too_big:
        raise InputSpecError(
            specs_text[0], f"sizes probes dims up to {MAX_UP_TO:,}, but one is {too_big[0]:,}"
        )
    if vary not in ("all", "first"):
        raise UsageError(f"--vary must be 'all' or 'first', not {vary!r}")
    # Inputs whose shape equals the first's take the probed size too.
    linked = {
        i
        for i, s in enumerate(specs)
        if i == 0
        or (vary == "all" and isinstance(s.value, TensorSpec) and s.value.shape == base_shape)
    }

    device = torch.device("meta")
    model = build_model(target, device)
    make_recursion_room(model, target.name)
    model.eval()
    float_dtype = torch.float32

    def tensor(spec: TensorSpec) -> torch.Tensor:
        """The dummy input: real on cpu when small (the bridge then answers what the model
        reads of its input's values, a mask's ``.all()``), on meta otherwise."""
        dtype = getattr(torch, spec.dtype) if spec.dtype else float_dtype
        shape = int_shape(spec)
        meta = torch.zeros(shape, dtype=dtype, device=device)
        if meta.numel() * meta.element_size() > REAL_VALUE_BYTES:
            return meta
        make = torch.ones if spec.fill == "ones" else torch.zeros
        return make(shape, dtype=dtype, device="cpu")

    def resized(i: int, shape: Shape) -> TensorSpec:
        """Input ``i``'s spec at the probed ``shape`` (unchanged when it is not linked)."""
        value = specs[i].value
        assert isinstance(value, TensorSpec)
        return TensorSpec(shape, value.dtype, value.fill) if i in linked else value

    others = [i for i, s in enumerate(specs) if i and isinstance(s.value, TensorSpec)]
    probes = 0
    varying: list[tuple[int, str]] = []  # the dim being probed, for progress

    def run(shape: Shape) -> tuple[tuple[Shape, ...] | None, BaseException | None]:
        nonlocal probes
        probes += 1
        if progress is not None:
            dim, label = varying[-1] if varying else (None, "")
            progress(probes, f"{label}={shape[dim]}" if dim is not None else "the given input")
        x = tensor(TensorSpec(shape, base.dtype, base.fill))
        rest = [tensor(resized(i, shape)) for i in others if specs[i].name is None]
        named: dict[str, Any] = {
            name: tensor(resized(i, shape)) for i in others if (name := specs[i].name)
        }
        kwargs = {**target.default_args, **named}
        try:
            # Weights stay on meta; what needs values of the inputs gets them (capture.bridge).
            with (
                torch.no_grad(),
                MetaBridge(real_values=True),
                torch.device(device),
                ForwardSandbox(),
                strict_meta_conv(),  # a convolution refuses what it refuses on a real device
            ):
                out = model(x, *rest, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the model rejected this size (sys.exit() included)
            return None, exc
        from netinspect.capture.tensors import shape_of, tensor_leaves

        return tuple(shape_of(t) for t in tensor_leaves(out)), None

    # Too many or too few inputs for forward() is the request's mistake, not a size problem.
    check_forward_arguments(
        model,
        _Prepared(
            tuple(range(1 + sum(1 for i in others if specs[i].name is None))),
            {**target.default_args, **{n: None for i in others if (n := specs[i].name)}},
            (),
        ),
    )
    given_out, given_exc = run(base_shape)
    if isinstance(given_exc, MetaLimitReached):
        raise UsageError(
            f"sizes probes with the weights on the meta device, but {target.name} needs values "
            f"computed from them: {describe_limit(given_exc.limit)}"
        )

    def explain_failure(shape: Shape) -> str | None:
        """The diagnosis of one failing size, from a captured pass."""
        texts = [
            format_input_spec(type(s)(s.name, resized(i, shape)))
            if i in linked
            else format_input_spec(s)
            for i, s in enumerate(specs)
        ]
        try:
            inspect_model(model, inputs=texts, device="meta")
        except ForwardFailed as exc:
            return exc.report.error.message if exc.report.error else exception_text(exc)
        except Exception as exc:
            return describe_exception(exc)
        return None

    dims: list[DimSizes] = []
    for dim, label in labels.items():
        varying.append((dim, label))
        given = base_shape[dim]
        window = up_to or default_window(given)

        def with_size(n: int, dim: int = dim) -> Shape:
            return (*base_shape[:dim], n, *base_shape[dim + 1 :])

        seen: dict[int, Outcome] = {base_shape[dim]: given_out}

        def probe(
            n: int, with_size: Callable[[int], Shape] = with_size, seen: dict[int, Outcome] = seen
        ) -> Outcome:
            if n not in seen:
                seen[n] = run(with_size(n))[0]
            return seen[n]

        twin = next((d for d in dims if d.given == given and d.probed_up_to == window), None)
        reused = twin is not None and _same_as(twin, probe, window)
        if reused and twin is not None:
            # Square models treat H and W alike: the checks above probed this dim's edges.
            accepted = [n for a, b in twin.accepted for n in range(a, b + 1)]
            results = {n: probe(n) for n in ({accepted[0], given} if accepted else {given})}
        else:
            results = scan_dim(probe, given, window)
            accepted = infer_accepted(results, window)
        outputs = {n: o for n, o in results.items() if o is not None}
        far = {f * window: probe(f * window) for f in _FAR_FACTORS}
        unbounded = (
            bool(accepted) and accepted[-1] == window and all(o is not None for o in far.values())
        )
        minimum = accepted[0] if accepted else None
        maximum = None if unbounded or not accepted else accepted[-1]
        all_outputs = list(outputs.values()) + [o for o in far.values() if o is not None]
        depends = len(set(all_outputs)) > 1
        samples = (
            tuple((n, outputs[n]) for n in sorted({accepted[0], given}) if n in outputs)
            if accepted
            else ()
        )
        # Each size probed counts once, the dense scan included.
        below = explain_failure(with_size(minimum - 1)) if minimum and minimum > 1 else None
        above = None
        if maximum is not None and maximum < window:
            above = explain_failure(with_size(maximum + 1))
        dims.append(
            DimSizes(
                dim=dim,
                label=label,
                given=given,
                probed_up_to=window,
                accepted=runs(accepted),
                minimum=minimum,
                maximum=maximum,
                step=find_step(accepted) if accepted else None,
                output_depends=depends,
                output_samples=samples,
                below_minimum=below,
                above_maximum=above,
            )
        )

    fixed_by = _fixed_by(model, specs_text, inspect_model) if given_out is not None else None
    constant = not any(d.output_depends for d in dims)
    outputs_at_given = given_out or ()
    return SizesReport(
        model=target.name,
        input_shape=base_shape,
        mode="eval",
        device="meta",
        dims=tuple(dims),
        outputs=outputs_at_given,
        output_constant=constant,
        fixed_by=fixed_by if constant else None,
        probes=probes,
        seconds=round(time.perf_counter() - start, 3),
        summary=summarize(
            target.name, "eval", dims, outputs_at_given, fixed_by if constant else None
        ),
        given_failure=explain_failure(base_shape) if given_out is None else None,
        varied_inputs=tuple(sorted(linked)),
    )


def _same_as(twin: DimSizes, probe: Callable[[int], Outcome], window: int) -> bool:
    """Whether this dim accepts exactly where ``twin`` does, checked at twin's run edges,
    the given size and the window's end."""
    checks: set[int] = {1, twin.given, window}
    if twin.step and twin.step > 1 and twin.minimum is not None:
        # A period: its first two members, the sizes around them, and the last one. (Every
        # run's edges would be a probe or six per member: RAFT's passes take 0.7 s each.)
        first, step = twin.minimum, twin.step
        checks |= {first - 1, first, first + 1, first + step - 1, first + step}
        checks |= {twin.accepted[-1][1], twin.accepted[-1][1] + 1}
    else:
        for a, b in twin.accepted:
            checks |= {a - 1, a, a + 1, b - 1, b, b + 1}
    inside = {n for a, b in twin.accepted for n in (a, b)}
    for n in sorted(c for c in checks if 1 <= c <= window):
        expected = any(a <= n <= b for a, b in twin.accepted)
        if (probe(n) is not None) != expected:
            return False
    return bool(inside) or all(probe(n) is None for n in (1, window))


def _fixed_by(model: Any, specs: list[str], inspect: Callable[..., Any]) -> str | None:
    """The adaptive pooling layer that pins the spatial size, from one captured pass."""
    report = inspect(model, inputs=specs, device="meta")
    for row in report.layers:
        is_adaptive = row.type.startswith(("AdaptiveAvgPool", "AdaptiveMaxPool")) or (
            row.kind == "function" and "adaptive" in row.name.rsplit(".", 1)[-1]
        )
        if is_adaptive and row.output_shapes and len(row.output_shapes[0]) >= 3:
            size = "×".join(str(d) for d in row.output_shapes[0][2:])
            return f"{row.name} ({row.type}) fixes {size}"
    return None
