"""Build a target's module on a device: zero-init on real devices, meta storage for builders
that compute with tensors, unwrapping torch.compile, copying a user's module with ties kept."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter
from torch.overrides import TorchFunctionMode

from netinspect.errors import (
    UsageError,
    describe_exception,
)
from netinspect.sources.resolve import resolve_target
from netinspect.sources.target import ModelTarget
from netinspect.sources.tree import has_module_cycle
from netinspect.torch_compat.dynamo_free import DispatchMode

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
    """While a model is built for inspection, random initialisers become ``zero_()``; on the
    meta device, where there are no values to fill, they do nothing (torch runs most of them
    there as Python reference kernels: a third of building vgg16 on meta)."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _RANDOM_INIT:
            # ``Tensor.uniform_(t)`` passes the tensor first; ``nn.init.uniform_`` hands it
            # to torch's override machinery by keyword (``tensor=``).
            target = args[0] if args else kwargs.get("tensor")
            if isinstance(target, torch.Tensor):
                if target.is_meta:
                    return target
                with torch.no_grad():
                    return target.zero_()
        return func(*args, **kwargs)


# Constructors that only allocate storage: safe on meta while a model is built. The others
# (arange, tensor, linspace, full...) compute values a builder may read back with .tolist().
_STORAGE_CONSTRUCTORS = frozenset(
    {"empty", "empty_like", "empty_permuted", "empty_strided", "zeros", "ones", "eye",
     "rand", "randn", "randint", "randperm"}
)  # fmt: skip


# Storage this small stays real under _MetaStorageMode: its values may be read back.
_SMALL_STORAGE_BYTES = 64 * 1024


class _MetaStorageMode(TorchFunctionMode):
    """A second way to build on meta, for builders that compute with tensors (regnet:
    ``torch.arange(depth) * w_a ... .tolist()``; timm: ``[x.item() for x in
    torch.linspace(...)]``): large storage (the weights) goes to meta, small tensors and
    computed values stay on cpu, and the caller moves the finished model to meta."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _STORAGE_CONSTRUCTORS and kwargs.get("device") is None:
            meta = func(*args, **{**kwargs, "device": "meta"})  # free: tells the size
            if not isinstance(meta, torch.Tensor) or meta.numel() * meta.element_size() > (
                _SMALL_STORAGE_BYTES
            ):
                return meta
        return func(*args, **kwargs)


class _CopyOutOfMetaMode(DispatchMode):  # type: ignore[no-untyped-call]  # torch's base is untyped
    """While building under _MetaStorageMode: a copy from meta to a real device (a constructor
    calling ``.to("cpu")`` on a large buffer) gets zeros of that shape, not an error; the model
    goes to meta afterwards, so the values are never read. (A ``DispatchMode``: nothing is
    compiled while a model is built, so torch's dynamo guard is not imported for it.)"""

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        name = func.__name__.split(".")[0]
        if name == "_to_copy" and args[0].is_meta:
            device = kwargs.get("device")
            if device is not None and torch.device(device).type != "meta":
                dtype = kwargs.get("dtype") or args[0].dtype
                return torch.zeros(args[0].shape, dtype=dtype, device=device)
        if name == "copy_" and args[1].is_meta and not args[0].is_meta:
            return args[0].zero_()
        return func(*args, **kwargs)


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
    init_mode = _ZeroInitMode() if zero_init else nullcontext()
    try:
        try:
            with torch.device(dev), init_mode:
                model = target.factory()
        except (UsageError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as first:
            if dev.type != "meta":
                raise
            # A constructor that needs values on meta (.item(), .tolist(), .to("cpu")): the
            # cheapest way that works is meta for the weights only. A model's own error
            # fails again here and is reported as it first was.
            try:
                with _MetaStorageMode(), _CopyOutOfMetaMode():  # type: ignore[no-untyped-call]
                    model = target.factory()
            except Exception:
                raise first from None
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


def check_module_api(model: nn.Module) -> None:
    """The tree walks netinspect relies on work: a model that overrides ``named_modules``,
    ``named_parameters`` or ``named_buffers`` with one that raises cannot be inspected. That is
    a usage error (exit 2), named, not a failure of the forward (exit 3): no forward ran."""
    for method in ("named_modules", "named_parameters", "named_buffers"):
        try:
            for _ in getattr(model, method)():
                pass
        except (KeyboardInterrupt, UsageError):
            raise
        except Exception as exc:
            raise UsageError(
                f"cannot inspect {type(model).__name__}: its {method}() raised "
                f"{describe_exception(exc)} (netinspect walks the module tree with it)"
            ) from None


def move_model(
    model: nn.Module, device: torch.device | None, dtype: torch.dtype | None
) -> nn.Module:
    """``model.to(device, dtype)``, also for a tree with a cycle (see ``_move_each``)."""
    if has_module_cycle(model):
        _move_each(model, device, dtype)
        return model
    return model.to(device=device, dtype=dtype)


def unwrap_model(model: nn.Module) -> tuple[nn.Module, str | None]:
    """The module whose Python forward hooks can see, and a note when it is not ``model``.

    ``torch.compile`` wraps a module in an ``OptimizedModule`` that keeps the original as
    ``_orig_mod``: inspect that (no compilation happens). TorchScript modules have no Python
    forward and refuse hooks, so they are a usage error naming the scripted module.
    """
    check_module_api(model)
    # Read from the registry, not through ``getattr``: a model's own ``__getattr__`` may raise
    # anything for a name it does not know.
    registry = model.__dict__.get("_modules")
    # A TorchScript module's registry is torch's own mapping type, without ``get``.
    inner = registry["_orig_mod"] if registry is not None and "_orig_mod" in registry else None
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


def _move_each(model: nn.Module, device: torch.device | None, dtype: torch.dtype | None) -> None:
    """What ``.to(device, dtype)`` does, module by module as ``modules()`` lists them (once
    each, by identity): a tree with a cycle cannot be moved by torch's recursive ``_apply``."""

    def moved(t: torch.Tensor) -> torch.Tensor:
        cast = dtype if dtype is not None and (t.is_floating_point() or t.is_complex()) else None
        return t.to(device=device, dtype=cast)

    for module in model.modules():
        for name, param in module._parameters.items():
            if param is not None:
                module._parameters[name] = nn.Parameter(moved(param), param.requires_grad)
        for name, buffer in module._buffers.items():
            if buffer is not None:
                module._buffers[name] = moved(buffer)


def copy_to(model: nn.Module, device: torch.device, dtype: torch.dtype | None) -> nn.Module:
    """A copy of ``model`` on ``device``/``dtype`` with tied parameters still tied.

    ``deepcopy`` keeps ties, but ``.to()`` across device types (cpu -> meta) replaces each
    module's parameter separately, which would split a tied embedding/head in two.
    """
    moved = copy.deepcopy(model)
    owners: dict[int, list[tuple[nn.Module, str]]] = {}
    # A lazy module's uninitialised weights have no shape for .to() to copy: they are
    # recreated, still uninitialised, on the new device (its first call materialises them).
    lazy: dict[int, list[tuple[dict[str, Any], str, torch.Tensor]]] = {}
    for module in moved.modules():
        for table in (module._parameters, module._buffers):
            for name, t in list(table.items()):
                if isinstance(t, (UninitializedParameter, UninitializedBuffer)):
                    lazy.setdefault(id(t), []).append((table, name, t))
                    del table[name]
        for name, param in module._parameters.items():
            if param is not None:
                owners.setdefault(id(param), []).append((module, name))
    moved = move_model(moved, device, dtype)
    for slots in owners.values():
        first_module, first_name = slots[0]
        shared = first_module._parameters[first_name]
        for module, name in slots[1:]:
            module._parameters[name] = shared
    for places in lazy.values():
        old = places[0][2]
        settings: dict[str, Any] = {
            "requires_grad": old.requires_grad,
            "device": device,
            "dtype": dtype if dtype is not None and old.is_floating_point() else old.dtype,
        }
        kind: Any = type(old)  # UninitializedParameter or UninitializedBuffer: same arguments
        fresh = kind(**settings)
        for table, name, _ in places:
            table[name] = fresh
    return moved
