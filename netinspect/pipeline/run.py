"""``inspect_model``: a short pipeline of named steps.

resolve (target, dtype, inputs) -> choose a device -> build -> prepare inputs -> capture one
forward pass (falling back from meta to cpu where meta cannot run) -> assemble the report.
Each step is a function of its own; ``inspect_model`` only strings them together.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from netinspect.capture.bridge import MetaBridge, MetaLimit
from netinspect.capture.guard import ModelStateGuard
from netinspect.capture.hooks import CallCapture
from netinspect.capture.sandbox import ForwardSandbox
from netinspect.capture.tensors import dtype_name, is_uninitialized
from netinspect.errors import ForwardFailed, InputSpecError, UsageError
from netinspect.pipeline.assemble import assemble_report
from netinspect.pipeline.device import (
    CPU,
    META,
    PLAN_CPU,
    PLAN_META,
    Plan,
    _module_device,
    _module_float_dtype,
    _torch_dtype,
    device_note,
    failure_text,
    limit_from_text,
    plans_for,
    resolve_device,
    shortfall,
)
from netinspect.pipeline.hints import confirm_min_input
from netinspect.pipeline.inputs import (
    InputsArg,
    _prepare_inputs,
    _Prepared,
    check_forward_arguments,
    index_input_specs,
    parse_dtype_arg,
    wrapped_or_no_default_input,
)
from netinspect.pipeline.memory_check import check_memory, memory_needed
from netinspect.pipeline.request import PassResult, Request
from netinspect.pipeline.symbolic import add_symbolic, bind_inputs
from netinspect.pipeline.train import TrainOptions, add_training
from netinspect.pipeline.weights import load_weights
from netinspect.records import InspectionReport
from netinspect.sources.build import _build, copy_to, move_model, unwrap_model
from netinspect.sources.resolve import resolve_target
from netinspect.sources.target import ModelTarget
from netinspect.sources.tree import make_recursion_room, restoring_recursion_limit
from netinspect.specs import FLOAT_DTYPES, InputSpec, parse_input_specs
from netinspect.torch_compat.meta_conv import strict_meta_conv
from netinspect.torch_compat.sympy_free import kernels_without_imports

_REAL_FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def resolve_request(
    model_or_name: nn.Module | str,
    inputs: InputsArg,
    device: str | torch.device,
    dtype: str | torch.dtype | None,
    *,
    weights: str | None = None,
    allow_import: tuple[str, ...] = (),
    forward_args: Mapping[str, Any] | None = None,
    hints: Mapping[str, int] | None = None,
) -> Request:
    """Step 1: resolve the target, choose the device, parse the dtype and the input specs
    (named dims bound to their hints: the ordinary pass runs at the hints)."""
    dtype_str = None
    if dtype is not None:
        dtype_str = dtype_name(dtype) if isinstance(dtype, torch.dtype) else parse_dtype_arg(dtype)
    notes: list[str] = []
    model: nn.Module | None = None
    if isinstance(model_or_name, nn.Module):
        make_recursion_room(model_or_name, type(model_or_name).__name__)
        user_model, unwrapped = unwrap_model(model_or_name)
        notes += [unwrapped] if unwrapped else []
        own_device = _module_device(user_model)
        dev = own_device if str(device) == "auto" else resolve_device(device)
        model = user_model
        if (
            dev != own_device
            or (dtype_str and _torch_dtype(dtype_str) != _module_float_dtype(user_model))
            or any(is_uninitialized(p) for p in user_model.parameters())
        ):
            # Never move or cast the user's module, nor materialise its lazy weights: a copy.
            model = copy_to(user_model, dev, _torch_dtype(dtype_str) if dtype_str else None)
        held = model
        target = ModelTarget(name=type(user_model).__name__, source="object", factory=lambda: held)
        is_auto = str(device) == "auto"
    else:
        target = resolve_target(str(model_or_name), allow_import=allow_import)
        is_auto = str(device) == "auto"
        dev = torch.device("meta") if is_auto else resolve_device(device)
        if is_auto and target.auto_device:
            dev = torch.device(target.auto_device)
            notes.append(f"inspected on {dev}: {target.auto_device_reason}")
    specs, bound = bind_inputs(
        _input_specs(target, inputs, model, notes), hints, target.default_inputs
    )
    float_dtype = (
        _torch_dtype(dtype_str) if dtype_str else
        (_module_float_dtype(model) if model is not None else torch.float32)
    )  # fmt: skip
    if specs is not None and float_dtype not in _REAL_FLOATS:
        float_dtype = torch.float32
    if weights and dev.type == "meta":
        notes.append(
            f"weights in {weights} were checked against the model (names and shapes); "
            "values are not loaded on the meta device"
        )
    return Request(
        target=target,
        device=dev,
        is_auto=is_auto,
        dtype=dtype_str,
        specs=specs,
        inputs=inputs,
        float_dtype=float_dtype,
        weights=weights,
        forward_args=dict(forward_args or {}),
        model=model,
        notes=notes,
        is_callers_module=model is not None and model is model_or_name,
        symbolic=bound,
    )


def _input_specs(
    target: ModelTarget, inputs: InputsArg, model: nn.Module | None, notes: list[str]
) -> tuple[InputSpec, ...] | None:
    """Parsed ``--input`` specs (the target's defaults when none are given, else those of a
    torchvision model it wraps, with a note); None when the caller passed real tensors."""
    if inputs is None or (
        isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], str)
    ):
        spec_strings = tuple(inputs) if inputs else target.default_inputs
        if not spec_strings:
            # A config's constructor error (``Linear: [abc, 10]``) is the first thing to fix;
            # building on meta costs nothing, surfaces it, and shows what forward() takes.
            built = (
                model
                if model is not None
                else _build(target, torch.device("meta"), zero_init=False)
            )
            spec_strings = wrapped_or_no_default_input(target.name, built, notes)
        return parse_input_specs(list(spec_strings))
    if isinstance(inputs, (list, tuple)) and not inputs:
        raise InputSpecError("", "no inputs given")
    return None


def build_for(request: Request, device: torch.device) -> nn.Module:
    """Step 3: build the target on ``device`` (random initialisers skipped), cast, load weights."""
    built = _build(request.target, device, zero_init=True)
    make_recursion_room(built, request.target.name)
    built, unwrapped = unwrap_model(built)
    if unwrapped and unwrapped not in request.notes:
        request.notes.append(unwrapped)
    if request.dtype and request.dtype in FLOAT_DTYPES:
        built = move_model(built, None, _torch_dtype(request.dtype))
    elif request.dtype:
        raise UsageError(
            f"--dtype {request.dtype}: the model's parameters must be a floating dtype"
        )
    if request.weights:
        request.weights_report = load_weights(built, request.weights, request.weights_partial)
    return built


def prepare_for(request: Request, device: torch.device) -> _Prepared:
    """Step 4: the dummy inputs on ``device``, plus non-tensor forward arguments (the target's
    defaults, then the caller's ``--arg`` values)."""
    cast = _torch_dtype(request.dtype) if request.dtype in FLOAT_DTYPES else None
    prepared = _prepare_inputs(request.inputs, request.specs, device, request.float_dtype, cast)
    extra = {**request.target.default_args, **request.forward_args}
    return _Prepared(prepared.args, {**prepared.kwargs, **extra}, prepared.records)


def capture_pass(
    model: nn.Module, prepared: _Prepared, plan: Plan, *, restore: bool = False
) -> PassResult:
    """Step 5: one hooked forward pass under the plan's ``MetaBridge``. The model's exception
    is kept, not raised. ``restore``: put back the parameters and buffers the forward changes
    (the caller's own module; see capture.guard)."""
    output: Any = None
    exception: BaseException | None = None
    bridge = MetaBridge(real_values=plan.real_values, stand_ins=plan.stand_ins)
    guard = ModelStateGuard(model) if restore else nullcontext()
    # Tensors forward() creates without a device land with the weights (see ``real_values``).
    with (
        guard,
        torch.no_grad(),
        bridge,
        torch.device(plan.weights),
        strict_meta_conv(),  # outside the capture's mode, which reads its caller's frame
        CallCapture(model, is_data_dependent=bridge.is_data_dependent) as capture,
        ForwardSandbox(),  # innermost: what forward changed is put back before the rest exits
    ):
        try:
            output = model(*prepared.args, **prepared.kwargs)
        except KeyboardInterrupt:
            raise  # the user's Ctrl-C, not the model's failure: exit 130
        except BaseException as exc:
            # Anything else from the model's code is its failure (sys.exit() too, or it would
            # end the run as a silent success).
            exception = exc
            capture.note_escape(exc)
    return PassResult(capture, output, exception, bridge, plan)


def build_checked(request: Request) -> nn.Module:
    """Steps 2-3 on a real device: a meta build and pass first, so that what cannot fit is
    refused with its size instead of exhausting the machine."""
    dev = request.device
    if dev.type != "meta":
        meta = torch.device("meta")
        try:
            meta_model: nn.Module | None = build_for(request, meta)
        except UsageError:
            meta_model = None  # not buildable on meta (quantized): check the input alone
        meta_pass = None
        if meta_model is not None:
            meta_pass = capture_pass(meta_model, prepare_for(request, meta), PLAN_META)
        check_memory(request, dev, meta_model, meta_pass)
    return build_for(request, dev)


def _next_plan(
    request: Request, plans: tuple[Plan, ...], after: Plan, model: nn.Module, last: PassResult
) -> tuple[Plan | None, list[str]]:
    """The first plan after ``after`` that fits, and why the others were passed over."""
    passed_over: list[str] = []
    later = plans[plans.index(after) + 1 :] if after in plans else ()
    inputs_need, _ = memory_needed(request, None, None)
    inputs_fit = request.specs is not None and shortfall(CPU, inputs_need, "") is None
    for plan in later:
        if plan.weights.type == "meta" and plan.inputs.type == "cpu" and not inputs_fit:
            if plan.stand_ins:  # zeros can stand in on meta inputs too
                return dataclasses.replace(plan, inputs=META, real_values=False), passed_over
            continue
        if plan.weights.type == "cpu":
            need, what = memory_needed(request, model, last)
            problem = shortfall(CPU, need, what)
            if problem is not None:
                passed_over.append(f"a cpu run {problem.removeprefix('this ')}")
                continue
        return plan, passed_over
    return None, passed_over


def _stopped(result: PassResult) -> MetaLimit | None:
    exc = result.exception
    return None if exc is None else result.bridge.stopped_by or limit_from_text(exc)


def run_with_fallback(
    request: Request, model: nn.Module
) -> tuple[nn.Module, _Prepared, PassResult]:
    """Steps 4-5 under the device policy (``pipeline.device``): start with the first plan,
    and while an op needs values that meta cannot give, go on to the next plan that fits."""
    plans = plans_for(request.device, is_auto=request.is_auto, can_rebuild=request.model is None)
    plan = plans[0]
    prepared = prepare_for(request, plan.inputs)
    check_forward_arguments(model, prepared)
    result = capture_pass(
        model, prepared, plan, restore=request.is_callers_module and model is request.model
    )
    retyped = index_input_specs(request.specs, result.capture)
    if retyped is not None:
        # Dummy inputs are floats unless a spec says otherwise; an Embedding needs indices.
        request.specs, index_note = retyped
        request.notes.append(index_note)
        prepared = prepare_for(request, plan.inputs)
        result = capture_pass(model, prepared, plan)
    limits = list(result.bridge.limits)
    stops: list[MetaLimit] = []
    passed_over: list[str] = []
    while (limit := _stopped(result)) is not None:
        stops.append(limit)
        following, reasons = _next_plan(request, plans, plan, model, result)
        passed_over += reasons
        if following is None:
            result.failure_message = failure_text(
                limit, passed_over, _advice(request, plans, model, result)
            )
            break
        if following.weights != plan.weights:
            model = build_for(request, following.weights)
        plan = following
        prepared = prepare_for(request, plan.inputs)
        result = capture_pass(model, prepared, plan)
        limits += [x for x in result.bridge.limits if x not in limits]
    request.device = plan.weights
    # After a failure the error says why; the note is for a report that came through.
    note = device_note(
        stops if _stopped(result) is None else (),
        plan,
        limits,
        passed_over,
        has_data_dependent_shapes=result.bridge.has_data_dependent_shapes,
    )
    if note:
        request.notes.append(note)
    return model, prepared, result


def _advice(
    request: Request, plans: tuple[Plan, ...], model: nn.Module, last: PassResult
) -> str | None:
    """``--device auto`` when it would get further (a cpu run that fits), else nothing."""
    if PLAN_CPU in plans or request.model is not None or request.device.type != "meta":
        return None
    need, what = memory_needed(request, model, last)
    return "--device auto runs it on cpu" if shortfall(CPU, need, what) is None else None


@restoring_recursion_limit()  # a deep module tree raises it while it is inspected
def inspect_model(
    model_or_name: nn.Module | str | os.PathLike[str],
    inputs: InputsArg = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
    *,
    weights: str | None = None,
    weights_partial: bool = False,
    allow_import: tuple[str, ...] = (),
    forward_args: Mapping[str, Any] | None = None,
    explain: bool = False,
    hints: Mapping[str, int] | None = None,
    fast_imports: bool = False,
    train: TrainOptions | None = None,
) -> InspectionReport:
    """Inspect a model: a torchvision name, ``file.py:Name``, ``pkg.mod:Name``, a YAML config
    path, or an ``nn.Module`` (left exactly as it was).

    ``inputs``: spec strings as on the CLI (``["1x3x224x224"]``; named dims ``["Bx3xHxW"]``
    add formulas and conditions, ``report.symbolic``, at ``hints`` such as ``{"H": 224}``), or
    real tensors: a tensor, a sequence of tensors or a dict (keyword); forward gets copies,
    cast to ``dtype`` when floating (see ``inputs.copied``). ``device``:
    "auto" (meta, with a cpu fallback), "cpu", "cuda[:N]" or "meta". ``explain=True`` adds the
    shape arithmetic, ``train`` a training step's memory. ``weights``: a checkpoint (``weights_partial``: load what fits; see
    ``report.weights``). Raises ``ForwardFailed`` (with the partial report) when the model
    raises, ``UsageError`` subclasses for bad requests (``WeightsMismatch`` with its rows).
    ``fast_imports=True`` (the CLI): ``torch_compat.sympy_free``'s stand-ins meanwhile."""
    with kernels_without_imports() if fast_imports else nullcontext():
        if isinstance(model_or_name, os.PathLike):
            model_or_name = os.fspath(model_or_name)
        if isinstance(inputs, str):
            inputs = [inputs]  # one spec, not a sequence of one-character specs
        request = resolve_request(
            model_or_name,
            inputs,
            device,
            dtype,
            weights=weights,
            allow_import=allow_import,
            forward_args=forward_args,
            hints=hints,
        )
        request.weights_partial = weights_partial
        model = request.model if request.model is not None else build_checked(request)
        model, prepared, result = run_with_fallback(request, model)
        report = assemble_report(request, model, prepared, result)
        if request.symbolic is not None and result.exception is None:
            report = add_symbolic(report, model, request)
        if result.exception is not None:
            rerun = lambda trial: capture_pass(model, prepare_for(trial, META), PLAN_META)  # noqa: E731
            report = confirm_min_input(request, report, rerun)
        if explain:
            from netinspect.analysis.explain import explain_report

            report = explain_report(report)
        report = add_training(report, request, train, build_for, prepare_for)
        if result.exception is not None:
            assert report.error is not None
            raise ForwardFailed(report.error.message, report) from result.exception
        return report
