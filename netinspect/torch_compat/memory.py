"""Training-step memory through torch's ``MemTracker`` (``torch.distributed._tools``, private).

``MemTracker`` is a ``TorchDispatchMode`` that sees every storage a forward, backward and
optimizer step create, also on the meta device (no FakeTensorMode needed), and files each under
a category: parameter, buffer, gradient, activation, temporary (backward), optimizer state, other
(tensors registered with ``track_external``: the inputs). ``StepTracker`` adds what the report
needs and torch does not keep: the phase and innermost module at the peak, the memory over the
step as a series, and CUDA's 512-byte allocation rounding on a device that is not CUDA (torch
applies it only to CUDA tensors, so a meta step for a GPU target needs it added).

Checked on torch 2.14.1 (the attributes read below: ``_in_opt``, ``_mod_tracker.is_bw``,
``_mod_tracker.parents``, ``_curr_mem_snap``, ``_update_snap``, ``_update_peak_stats``
(replaced), ``_track_module_params_and_buffers``, ``_param_to_grad_hook_handles``,
``_MemRefType``). torch's tracker hooks every parameter's gradient, which raises on frozen
ones; ``StepTracker`` hooks the trainable only. torch 2.4.1 has no ``mem_tracker`` module:
``has_mem_tracker`` says so and ``--train`` exits 2 with ``MIN_TORCH``. The feature test looks for the module and
the attributes, not at the version string.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

MIN_TORCH = "2.5"
CUDA_ROUNDING = 512  # bytes: c10/cuda/CUDACachingAllocator.cpp's kMinBlockSize

# MemTracker's category names (``_MemRefType`` values) → the report's.
CATEGORY_NAMES = {
    "Parameter": "parameters",
    "Buffer": "buffers",
    "Gradient": "gradients",
    "Optstate": "optimizer_state",
    "Activation": "activations",
    "Temp": "temporaries",
    "Other": "inputs",
}
CATEGORIES = tuple(CATEGORY_NAMES.values())
_TOTAL = "Total"


def _mem_tracker_class() -> Any | None:
    """torch's ``MemTracker`` when this torch has it with the parts ``StepTracker`` uses."""
    try:
        module = importlib.import_module("torch.distributed._tools.mem_tracker")
    except ImportError:
        return None
    cls = getattr(module, "MemTracker", None)
    needed = (
        "_update_snap",
        "_update_peak_stats",
        "_track_module_params_and_buffers",
        "_update_and_maybe_create_winfos",
        "track_external",
        "reset_mod_stats",
    )
    if not hasattr(module, "_MemRefType"):
        return None
    if cls is None or not all(hasattr(cls, name) for name in needed):
        return None
    return cls


def has_mem_tracker() -> bool:
    """Whether ``measure`` can run on this torch (a feature test, not a version test)."""
    return _mem_tracker_class() is not None


def missing_message() -> str:
    return f"--train needs torch >= {MIN_TORCH} (this torch lacks MemTracker)"


@dataclass(slots=True)
class StepMemory:
    """What one tracked step used: bytes by category at the peak, where the peak was, and each
    module's peak (by dotted name, the root is ``""``). ``series``: (phase, bytes by category)
    after each op, in order."""

    peak_bytes: int = 0
    peak_by_category: dict[str, int] = field(default_factory=dict)
    peak_phase: str = ""
    peak_module: str = ""
    per_module: dict[str, int] = field(default_factory=dict)
    series: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)


def _category_bytes(snapshot: dict[Any, int]) -> dict[str, int]:
    out = dict.fromkeys(CATEGORIES, 0)
    for key, value in snapshot.items():
        name = getattr(key, "value", key)
        if name in CATEGORY_NAMES:
            out[CATEGORY_NAMES[name]] += int(value)
    return out


def _fqn(name: str, root_name: str) -> str:
    """MemTracker names modules ``ResNet.layer1.0``; the report names them ``layer1.0``."""
    if name == root_name:
        return ""
    return name.removeprefix(root_name + ".")


def make_step_tracker(*, cuda_rounding: bool, device_type: str) -> Any:
    """A ``MemTracker`` that also records the peak's phase and module and the series, counting
    the storages on ``device_type`` only (Adam's ``step`` counters live on the CPU whatever the
    parameters' device). ``cuda_rounding`` rounds each of them up to 512 bytes as CUDA's
    allocator does."""
    base = _mem_tracker_class()
    if base is None:
        raise RuntimeError(missing_message())
    grad_type = importlib.import_module("torch.distributed._tools.mem_tracker")._MemRefType.GRAD

    class StepTracker(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.result = StepMemory()
            self.recording = False
            self.root_name = ""

        def restart(self) -> None:
            """Forget the peaks so far: the next step is the one reported."""
            self.reset_mod_stats()
            self.result = StepMemory()
            self.recording = True

        def _update_snap(self, u_type: Any, winfo: Any, *args: Any, **kwargs: Any) -> None:
            # ADD and SIZE carry a freshly computed size; round it before it is counted, so
            # DEL (which subtracts ``mem_consumed``) takes off the same rounded amount.
            if (
                cuda_rounding
                and u_type.name in ("ADD", "SIZE")
                and winfo.device.type == device_type
            ):
                winfo.mem_consumed = math.ceil(winfo.mem_consumed / CUDA_ROUNDING) * CUDA_ROUNDING
            super()._update_snap(u_type, winfo, *args, **kwargs)

        def _track_module_params_and_buffers(
            self, module: Any, install_grad_hooks: bool = True
        ) -> tuple[int, int]:
            # torch registers a gradient hook on every parameter, which raises on a frozen
            # one: hook only those that get gradients.
            sizes: tuple[int, int] = super()._track_module_params_and_buffers(
                module, install_grad_hooks=False
            )
            if install_grad_hooks:
                for param in module.parameters():
                    if param.requires_grad and param not in self._param_to_grad_hook_handles:
                        self._param_to_grad_hook_handles[param] = (
                            param.register_hook(self._grad_hook),
                            param.register_post_accumulate_grad_hook(
                                lambda p: self._grad_hook(p.grad)
                            ),
                        )
            return sizes

        def _grad_hook(self, grad: Any) -> None:
            self._update_and_maybe_create_winfos(grad, grad_type)

        def _update_peak_stats(self, peak_state: Any) -> None:
            # Called by torch after every op. Replaces torch's version, which walks every
            # module's stats (a weak dictionary) per op and deep-copies snapshots: most of a
            # step's time on a large model. The step needs only the peaks kept here.
            if not self.recording:
                return
            snap: dict[Any, int] = {}
            for device, dev_snap in self._curr_mem_snap.items():
                if device.type == device_type:
                    snap = dev_snap
            total = int(snap.get(_TOTAL, 0))
            by_cat = _category_bytes(snap)
            phase = (
                "optimizer"
                if self._in_opt
                else "backward"
                if self._mod_tracker.is_bw
                else "forward"
            )
            self.result.series.append((phase, tuple(by_cat[c] for c in CATEGORIES)))
            parents = [p for p in self._mod_tracker.parents if p != "Global"]
            peaks = self.result.per_module
            for name in parents:
                if peaks.get(name, -1) < total:
                    peaks[name] = total
            if total > self.result.peak_bytes:
                innermost = max(parents, key=lambda p: p.count("."), default=self.root_name)
                self.result.peak_bytes = total
                self.result.peak_by_category = by_cat
                self.result.peak_phase = phase
                self.result.peak_module = _fqn(innermost, self.root_name)

        def module_peaks(self) -> dict[str, int]:
            """Each module's peak while it ran, forward or backward, by dotted name."""
            return {_fqn(k, self.root_name): v for k, v in self.result.per_module.items()}

    return StepTracker()
