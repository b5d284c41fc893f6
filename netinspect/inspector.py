"""``inspect_model``: load -> build on a device -> capture one forward pass -> report."""

from __future__ import annotations

import copy
import difflib
import inspect
import os
import platform
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from netinspect import __version__
from netinspect.analysis import find_flatten_point, training_bytes_estimate
from netinspect.capture import (
    CallCapture,
    dtype_name,
    is_trainable,
    named_tensor_leaves,
    shape_of,
    tensor_leaves,
    weight_tensors,
)
from netinspect.diagnose import diagnose_failure
from netinspect.errors import (
    DeviceError,
    ForwardFailed,
    InputSpecError,
    InputTooLarge,
    UsageError,
    WeightsError,
    describe_exception,
)
from netinspect.loading import ModelTarget, resolve_target
from netinspect.records import (
    ErrorRecord,
    InputRecord,
    InspectionReport,
    LayerRecord,
    ModelInfo,
    Totals,
)
from netinspect.specs import FLOAT_DTYPES, InputSpec, TensorSpec, parse_dtype, parse_input_specs

InputsArg = Sequence[str] | torch.Tensor | Sequence[torch.Tensor] | Mapping[str, Any] | None

# Random in-place initialisers: when only shapes are wanted, filling with zeros is enough and
# far cheaper (vit_h_14 builds in seconds, not 13 s). Zeros, not "skip": trunc_normal_ loops
# until every value is in range, and uninitialised memory may never be.
_RANDOM_INIT = frozenset(
    {
        "uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
        "xavier_uniform_", "xavier_normal_", "orthogonal_", "sparse_", "random_",
        "exponential_", "geometric_", "cauchy_", "log_normal_", "bernoulli_", "erfinv_",
    }
)  # fmt: skip


class _ZeroInitMode(TorchFunctionMode):
    """While a model is built on a real device, random initialisers become ``zero_()``."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if (
            getattr(func, "__name__", "") in _RANDOM_INIT
            and args
            and isinstance(args[0], torch.Tensor)
        ):
            with torch.no_grad():
                return args[0].zero_()
        return func(*args, **(kwargs or {}))


# Constructors that only allocate storage: safe on meta while a model is built. The others
# (arange, tensor, linspace, full...) compute values a builder may read back with .tolist().
_STORAGE_CONSTRUCTORS = frozenset(
    {"empty", "empty_like", "empty_permuted", "empty_strided", "zeros", "ones", "eye",
     "rand", "randn", "randint", "randperm"}
)  # fmt: skip


class _MetaStorageMode(TorchFunctionMode):
    """A second way to build on meta, for builders that compute their layout with tensors
    (regnet: ``torch.arange(depth) * w_a ... .tolist()``): storage goes to meta, computed
    values stay on cpu, and the caller moves the finished model to meta."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _STORAGE_CONSTRUCTORS and kwargs.get("device") is None:
            kwargs = {**kwargs, "device": "meta"}
        return func(*args, **kwargs)


@dataclass(frozen=True)
class _Prepared:
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    records: tuple[InputRecord, ...]


def resolve_device(device: str | torch.device) -> torch.device:
    text = str(device).strip().lower()
    try:
        dev = torch.device(text)
    except RuntimeError as exc:
        raise DeviceError(
            f"unknown device {device!r} (use auto, cpu, cuda, cuda:N or meta)"
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {text}: CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(
                f"--device {text}: only {torch.cuda.device_count()} CUDA device(s) are present"
            )
    elif dev.type not in ("cpu", "meta"):
        raise DeviceError(f"unsupported device {text!r} (use auto, cpu, cuda, cuda:N or meta)")
    return dev


def _torch_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name)
    assert isinstance(dtype, torch.dtype)
    return dtype


def _module_device(model: nn.Module) -> torch.device:
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def _module_float_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _tensor_bytes(spec: TensorSpec, float_dtype: torch.dtype) -> int:
    dtype = _torch_dtype(spec.dtype) if spec.dtype else float_dtype
    numel = 1
    for d in spec.shape:
        numel *= d
    return numel * dtype.itemsize


def _available_memory(device: torch.device) -> int | None:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_fits(device: torch.device, needed: int, what: str) -> None:
    """Refuse up front, with the estimate, rather than exhausting the machine's memory."""
    available = _available_memory(device)
    if available is not None and needed > 0.8 * available:
        raise InputTooLarge(
            f"this needs about {format_bytes(needed)} on {device} ({what}), more than 80% of "
            f"the {format_bytes(available)} available; use --device meta for shapes only"
        )


def build_model(
    target: ModelTarget | str | os.PathLike[str],
    device: str | torch.device = "cpu",
    *,
    allow_import: tuple[str, ...] = (),
) -> nn.Module:
    """Build the target's nn.Module on ``device``, initialised as its constructor does: a
    normal, usable model (``device="meta"`` gives shapes only, without memory or init cost)."""
    return _build(target, device, allow_import=allow_import, zero_init=False)


def _build(
    target: ModelTarget | str | os.PathLike[str],
    device: str | torch.device,
    *,
    allow_import: tuple[str, ...] = (),
    zero_init: bool,
) -> nn.Module:
    if isinstance(target, (str, os.PathLike)):
        target = resolve_target(os.fspath(target), allow_import=allow_import)
    dev = torch.device(device)
    # Inspection only needs shapes, so it skips the random initialisers (see _ZeroInitMode).
    init_mode = _ZeroInitMode() if zero_init and dev.type != "meta" else nullcontext()
    try:
        try:
            with torch.device(dev), init_mode:
                model = target.factory()
        except NotImplementedError:
            if dev.type != "meta":
                raise
            with _MetaStorageMode():
                model = target.factory()
            if isinstance(model, nn.Module):
                model = model.to("meta")
    except UsageError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise UsageError(f"building {target.name} failed: {describe_exception(exc)}") from exc
    if not isinstance(model, nn.Module):
        raise UsageError(f"{target.name} did not produce a torch.nn.Module")
    return model


def unwrap_model(model: nn.Module) -> tuple[nn.Module, str | None]:
    """The module whose Python forward hooks can see, and a note when it is not ``model``.

    ``torch.compile`` wraps a module in an ``OptimizedModule`` that keeps the original as
    ``_orig_mod``: inspect that (no compilation happens). TorchScript modules have no Python
    forward and refuse hooks, so they are a usage error naming the scripted module.
    """
    inner = getattr(model, "_orig_mod", None)
    note = None
    if isinstance(inner, nn.Module):
        note = f"inspected the original {type(inner).__name__} inside torch.compile's wrapper"
        model = inner
    for name, module in model.named_modules():
        if isinstance(module, torch.jit.ScriptModule):
            where = f"its submodule {name!r} is" if name else "it is"
            raise UsageError(
                f"cannot inspect {type(model).__name__}: {where} a TorchScript module "
                f"({type(module).__name__}), which runs no Python forward and accepts no hooks; "
                "inspect the nn.Module before torch.jit.script/trace"
            )
    return model, note


def copy_to(model: nn.Module, device: torch.device, dtype: torch.dtype | None) -> nn.Module:
    """A copy of ``model`` on ``device``/``dtype`` with tied parameters still tied.

    ``deepcopy`` keeps ties, but ``.to()`` across device types (cpu -> meta) replaces each
    module's parameter separately, which would split a tied embedding/head in two.
    """
    moved = copy.deepcopy(model)
    owners: dict[int, list[tuple[nn.Module, str]]] = {}
    for module in moved.modules():
        for name, param in module._parameters.items():
            if param is not None:
                owners.setdefault(id(param), []).append((module, name))
    moved = moved.to(device=device, dtype=dtype)
    for slots in owners.values():
        first_module, first_name = slots[0]
        shared = first_module._parameters[first_name]
        for module, name in slots[1:]:
            module._parameters[name] = shared
    return moved


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + " ..."


def _load_failure(exc: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, in one sentence of our own: torch's
    text carries terminal escapes and advises weights_only=False, which netinspect never does."""
    text = str(exc)
    if "Weights only load failed" in text:
        found = re.search(r"GLOBAL ([\w.]+)", text) or re.search(r"global ([\w.]+)", text)
        held = f" ({found.group(1)})" if found else ""
        return (
            f"it holds Python objects{held}, not only tensors; netinspect loads state dicts "
            "only (torch.load weights_only=True): save model.state_dict() instead"
        )
    return f"not a readable PyTorch checkpoint ({type(exc).__name__})"


def _load_weights(model: nn.Module, path: str) -> None:
    if not os.path.isfile(path):
        raise WeightsError(f"weights file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol chatter is not ours to show
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read weights file {path}: {_load_failure(exc)}") from exc
    if isinstance(state, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = state.get(key)
            if isinstance(inner, Mapping) and not isinstance(state.get(key), torch.Tensor):
                state = inner
                break
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise WeightsError(f"{path} is not a state dict (a mapping of names to tensors)")
    try:
        with warnings.catch_warnings():
            # On meta, loading is a check of names and shapes; torch warns that the copy is a no-op.
            warnings.filterwarnings("ignore", message=".*copying from a non-meta parameter.*")
            model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        details = [_clip(ln.strip(), 160) for ln in str(exc).splitlines()[1:] if ln.strip()]
        summary = "; ".join(details[:3]) + (
            f"; and {len(details) - 3} more" if len(details) > 3 else ""
        )
        raise WeightsError(f"weights in {path} do not match the model: {summary}") from exc


def _make_tensor(spec: TensorSpec, device: torch.device, float_dtype: torch.dtype) -> torch.Tensor:
    dtype = _torch_dtype(spec.dtype) if spec.dtype else float_dtype
    # Zeros: valid indices for embeddings, cheap (calloc) on real devices, no RNG state used.
    return torch.zeros(spec.shape, dtype=dtype, device=device)


def _prepare_inputs(
    inputs: InputsArg,
    specs: tuple[InputSpec, ...] | None,
    device: torch.device,
    float_dtype: torch.dtype,
) -> _Prepared:
    if specs is not None:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        records: list[InputRecord] = []
        for i, spec in enumerate(specs):
            label = spec.name or f"input{i}"
            value: Any
            if isinstance(spec.value, tuple):
                value = [_make_tensor(t, device, float_dtype) for t in spec.value]
                records += [
                    InputRecord(f"{label}[{j}]", t.shape, t.dtype or dtype_name(float_dtype))
                    for j, t in enumerate(spec.value)
                ]
            else:
                value = _make_tensor(spec.value, device, float_dtype)
                records.append(InputRecord(label, spec.value.shape, dtype_name(value.dtype)))
            if spec.name:
                kwargs[spec.name] = value
            else:
                args.append(value)
        return _Prepared(tuple(args), kwargs, tuple(records))
    # Real tensors from the Python API.
    if isinstance(inputs, torch.Tensor):
        pos: tuple[Any, ...] = (inputs,)
        kw: dict[str, Any] = {}
    elif isinstance(inputs, Mapping):
        pos, kw = (), dict(inputs)
    else:
        pos, kw = tuple(inputs or ()), {}
    recs = [
        InputRecord(f"input{i}", shape_of(t), dtype_name(t.dtype))
        for i, t in enumerate(tensor_leaves(pos))
    ] + [
        InputRecord(k, shape_of(t), dtype_name(t.dtype))
        for k, v in kw.items()
        for t in tensor_leaves(v)
    ]
    return _Prepared(pos, kw, tuple(recs))


def count_parameters(model: nn.Module) -> Totals:
    """Unique weight tensors: parameters (tied ones once) and quantized modules' packed weights."""
    params = trainable = nbytes = 0
    by_dtype: dict[str, int] = {}
    for key, p in weight_tensors(model, recurse=True):
        n = p.numel()
        params += n
        if is_trainable(key, p):
            trainable += n
        size = n * p.element_size()
        nbytes += size
        key = dtype_name(p.dtype)
        by_dtype[key] = by_dtype.get(key, 0) + size
    return Totals(
        params=params,
        trainable_params=trainable,
        non_trainable_params=params - trainable,
        param_bytes=nbytes,
        param_bytes_by_dtype=by_dtype,
    )


def _cost_totals(
    model: nn.Module, capture: CallCapture, layers: tuple[LayerRecord, ...], param_bytes: int
) -> dict[str, Any]:
    """FLOPs/MACs and memory totals: row sums, so they agree with the rows at every depth."""
    trainable_bytes = sum(
        p.numel() * p.element_size() for p in model.parameters() if p.requires_grad
    )
    buffer_bytes = sum(b.numel() * b.element_size() for b in model.buffers())
    activation_bytes = sum(r.activation_bytes for r in layers)
    return {
        "flops": sum(r.flops for r in layers) + capture.unattributed_flops,
        "macs": sum(r.macs for r in layers) + capture.unattributed_macs,
        "flops_partial": bool(capture.uncounted_ops),
        "uncounted_ops": tuple(sorted(capture.uncounted_ops)),
        "buffer_bytes": buffer_bytes,
        "activation_bytes": activation_bytes,
        "training_bytes_estimate": training_bytes_estimate(
            param_bytes, trainable_bytes, buffer_bytes, activation_bytes
        ),
    }


def _is_meta_limitation(exc: BaseException) -> bool:
    """Ops the meta device cannot run (data-dependent sizes, .item(), quantized kernels)."""
    if isinstance(exc, NotImplementedError):
        return True
    text = str(exc).lower()
    return any(
        key in text
        for key in ("meta", "data-dependent", "data dependent", "cannot be converted to scalar")
    )


@dataclass
class _PassResult:
    capture: CallCapture
    output: Any
    exception: BaseException | None


def _run_pass(model: nn.Module, prepared: _Prepared, device: torch.device) -> _PassResult:
    output: Any = None
    exception: BaseException | None = None
    # Tensors that forward() creates without a device land on the pass's device.
    with torch.no_grad(), torch.device(device), CallCapture(model) as capture:
        try:
            output = model(*prepared.args, **prepared.kwargs)
        except Exception as exc:
            exception = exc
    return _PassResult(capture, output, exception)


def _error_record(
    layers: tuple[LayerRecord, ...], result: _PassResult, param_dtype: str, device: str
) -> ErrorRecord:
    exc = result.exception
    assert exc is not None
    text = str(exc).strip()
    failure = result.capture.failure
    row = layers[failure.row_index] if failure is not None else None
    diagnosis = diagnose_failure(
        layers,
        row.index if row else None,
        type(exc).__name__,
        text,
        param_dtype=param_dtype,
        device=device,
    )
    return ErrorRecord(
        layer_index=row.index if row else None,
        name=row.name if row else None,
        kind=row.kind if row else None,
        type=row.type if row else None,
        source=row.source if row else None,
        input_shapes=row.input_shapes if row else (),
        expected=diagnosis.expected,
        message=diagnosis.message,
        hint=diagnosis.hint,
        exception_type=type(exc).__name__,
        exception_message=text,
    )


def _environment(device: torch.device) -> dict[str, str]:
    env = {"python": platform.python_version(), "torch": torch.__version__}
    try:
        from importlib.metadata import version

        env["torchvision"] = version("torchvision")
    except Exception:
        pass
    if device.type == "cuda":
        env["cuda_device"] = torch.cuda.get_device_name(device)
    return env


def inspect_model(
    model_or_name: nn.Module | str,
    inputs: InputsArg = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
    *,
    weights: str | None = None,
    allow_import: tuple[str, ...] = (),
    forward_args: Mapping[str, Any] | None = None,
    explain: bool = False,
) -> InspectionReport:
    """Inspect a model: a torchvision name, ``file.py:Name``, ``pkg.mod:Name``, a YAML config
    path, or an ``nn.Module`` (left exactly as it was).

    ``inputs``: spec strings as on the CLI (``["1x3x224x224"]``), or real tensors: a tensor,
    a sequence of tensors (positional) or a dict (keyword). ``device``: "auto" (meta, with a
    cpu fallback), "cpu", "cuda[:N]" or "meta". ``explain=True`` adds the shape arithmetic
    (``explain.explain_report``). Raises ``ForwardFailed`` (with the partial
    report) when the model raises, and ``UsageError`` subclasses for bad requests.
    """
    dtype_str = None
    if dtype is not None:
        dtype_str = dtype_name(dtype) if isinstance(dtype, torch.dtype) else parse_dtype_arg(dtype)

    notes: list[str] = []
    if isinstance(model_or_name, nn.Module):
        user_model, unwrapped = unwrap_model(model_or_name)
        notes += [unwrapped] if unwrapped else []
        own_device = _module_device(user_model)
        dev = own_device if str(device) == "auto" else resolve_device(device)
        model = user_model
        if dev != own_device or (
            dtype_str and _torch_dtype(dtype_str) != _module_float_dtype(user_model)
        ):
            # Never move or cast the user's own module: work on a copy.
            model = copy_to(user_model, dev, _torch_dtype(dtype_str) if dtype_str else None)
        target = ModelTarget(name=type(user_model).__name__, source="object", factory=lambda: model)
        is_auto = False
    else:
        target = resolve_target(str(model_or_name), allow_import=allow_import)
        is_auto = str(device) == "auto"
        dev = torch.device("meta") if is_auto else resolve_device(device)
        if is_auto and target.auto_device:
            dev = torch.device(target.auto_device)
            notes.append(f"inspected on {dev}: {target.auto_device_reason}")
        model = None

    specs: tuple[InputSpec, ...] | None = None
    if inputs is None or (
        isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], str)
    ):
        spec_strings = tuple(inputs) if inputs else target.default_inputs
        if not spec_strings:
            if model is None:
                # A config's constructor error (``Linear: [abc, 10]``) is the first thing to
                # fix; building on meta costs nothing and surfaces it before this one.
                _build(target, torch.device("meta"), zero_init=False)
            raise UsageError(
                f"{target.name} has no default input: pass one, e.g. --input 1x3x224x224"
            )
        specs = parse_input_specs(list(spec_strings))
    elif isinstance(inputs, (list, tuple)) and not inputs:
        raise InputSpecError("", "no inputs given")

    float_dtype = (
        _torch_dtype(dtype_str) if dtype_str else
        (_module_float_dtype(model) if model is not None else torch.float32)
    )  # fmt: skip
    if specs is not None and float_dtype not in (
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.float64,
    ):
        float_dtype = torch.float32

    def build_on(device_: torch.device) -> nn.Module:
        built, unwrapped = unwrap_model(_build(target, device_, zero_init=True))
        if unwrapped and unwrapped not in notes:
            notes.append(unwrapped)
        if dtype_str and dtype_str in FLOAT_DTYPES:
            built = built.to(_torch_dtype(dtype_str))
        elif dtype_str:
            raise UsageError(
                f"--dtype {dtype_str}: the model's parameters must be a floating dtype"
            )
        if weights:
            _load_weights(built, weights)
        return built

    def check_memory(
        device_: torch.device, meta_model: nn.Module | None, meta_pass: _PassResult | None
    ) -> None:
        """Refuse up front what cannot fit: parameters, buffers, the input, and twice the
        largest activation a layer allocates on the meta pass (its input and output are alive
        together; under no_grad earlier activations are freed)."""
        if device_.type == "meta" or specs is None:
            return
        need = sum(
            _tensor_bytes(t, float_dtype)
            for s in specs
            for t in (s.value if isinstance(s.value, tuple) else (s.value,))
        )
        what = "the dummy input"
        if meta_model is not None:
            need += count_parameters(meta_model).param_bytes
            need += sum(b.numel() * b.element_size() for b in meta_model.buffers())
            what = "the model and its dummy input"
        if meta_pass is not None:
            largest = max((r.activation_bytes for r in meta_pass.capture.rows), default=0)
            need += 2 * largest
            what = "the model, its dummy input and its largest activations"
        check_fits(device_, need, what)

    if weights and dev.type == "meta":
        notes.append(
            f"weights in {weights} were checked against the model (names and shapes); "
            "values are not loaded on the meta device"
        )

    def prepare(device_: torch.device) -> _Prepared:
        prepared = _prepare_inputs(inputs, specs, device_, float_dtype)
        # Non-tensor forward arguments: the target's defaults, then the caller's (--arg) win.
        extra = {**target.default_args, **(forward_args or {})}
        return _Prepared(prepared.args, {**prepared.kwargs, **extra}, prepared.records)

    if model is None:
        if dev.type != "meta":
            meta = torch.device("meta")
            try:
                meta_model: nn.Module | None = build_on(meta)
            except UsageError:
                meta_model = None  # not buildable on meta (quantized): check the input alone
            meta_pass = None if meta_model is None else _run_pass(meta_model, prepare(meta), meta)
            check_memory(dev, meta_model, meta_pass)
        model = build_on(dev)
    prepared = prepare(dev)
    check_forward_arguments(model, prepared)
    result = _run_pass(model, prepared, dev)
    if (
        result.exception is not None
        and is_auto
        and dev.type == "meta"
        and _is_meta_limitation(result.exception)
    ):
        reason = first_sentence(str(result.exception))
        cpu = torch.device("cpu")
        check_memory(cpu, model, result)
        notes.append(f"the meta device could not run this model ({reason}); fell back to cpu")
        dev = cpu
        model = build_on(cpu)
        prepared = prepare(cpu)
        result = _run_pass(model, prepared, cpu)

    layers = result.capture.records()
    named_outputs = list(named_tensor_leaves(result.output))
    report_outputs = tuple(shape_of(t) for _, t in named_outputs)
    totals = count_parameters(model)
    totals = Totals(
        params=totals.params,
        trainable_params=totals.trainable_params,
        non_trainable_params=totals.non_trainable_params,
        param_bytes=totals.param_bytes,
        param_bytes_by_dtype=totals.param_bytes_by_dtype,
        uncalled_params=totals.params - sum(r.params for r in layers),
        **_cost_totals(model, result.capture, layers, totals.param_bytes),
    )
    if result.exception is None and not report_outputs:
        notes.append(
            f"the forward pass returned no tensor (it returned {type(result.output).__name__})"
        )
    if totals.uncalled_params and result.exception is None:
        # After a failure the modules past it were never reached: no news there.
        notes.append(
            f"{totals.uncalled_params:,} parameters belong to modules the forward pass never called"
        )
    report = InspectionReport(
        model=ModelInfo(
            name=target.name,
            source=target.source,
            class_name=type(model).__name__,
            description=target.description,
        ),
        device=str(dev),
        dtype=dtype_name(float_dtype),
        inputs=prepared.records,
        layers=layers,
        flatten=find_flatten_point(layers),
        outputs=report_outputs,
        output_names=tuple(name for name, _ in named_outputs),
        totals=totals,
        netinspect_version=__version__,
        notes=tuple(notes),
        environment=_environment(dev),
    )
    if explain:
        from netinspect.explain import explain_report

        report = explain_report(report)
    if result.exception is not None:
        from dataclasses import replace

        error = _error_record(layers, result, dtype_name(float_dtype), dev.type)
        report = replace(report, error=error)
        assert report.error is not None
        raise ForwardFailed(report.error.message, report) from result.exception
    return report


def check_forward_arguments(model: nn.Module, prepared: _Prepared) -> None:
    """Keyword inputs and --arg names that forward() cannot take are usage errors, found
    before the pass rather than blamed on the model."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # a builtin or C forward: nothing to check against
        return
    kinds = inspect.Parameter
    if any(p.kind is kinds.VAR_KEYWORD for p in params.values()):
        return
    named = [
        n for n, p in params.items() if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
    ]
    has_var_positional = any(p.kind is kinds.VAR_POSITIONAL for p in params.values())
    positional = [n for n, p in params.items() if p.kind is not kinds.KEYWORD_ONLY]
    taken = set(positional[: len(prepared.args)]) if not has_var_positional else set()
    owner = f"{type(model).__name__}.forward"
    for key in prepared.kwargs:
        if key not in named:
            close = difflib.get_close_matches(key, named, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(
                f"{owner} has no argument {key!r}{hint}; it takes: {', '.join(named) or 'nothing'}"
            )
        if key in taken:
            raise UsageError(f"{owner} gets {key!r} twice: as a positional input and by name")


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of an exception's text, cut at a word boundary: a note, not a dump."""
    line = (text.strip().splitlines() or [""])[0]
    sentence = line.split(". ")[0].rstrip(".")
    if len(sentence) > limit:
        sentence = sentence[:limit].rsplit(" ", 1)[0] + "..."
    return sentence


def parse_dtype_arg(text: str) -> str:
    try:
        return parse_dtype(text)
    except ValueError as exc:
        raise UsageError(f"--dtype: {exc}") from None
