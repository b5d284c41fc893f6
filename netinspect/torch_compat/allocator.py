"""What a real CPU step allocates, read from the profiler's allocation events (private API).

``torch.profiler.profile(profile_memory=True)`` records every CPU allocator call. Its raw
events (``kineto_results.experimental_event_tree()``, tag ``_EventType.Allocation``, with
``extra_fields.alloc_size``, negative for a free) give the allocator's running total over the
step; its maximum plus the bytes live before the step is the step's real peak. This is what the
``--train`` prediction is checked against (benchmarks and tests), not something the CLI runs.

Checked on torch 2.14.1. The feature test looks for the event tree and the Allocation tag.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

import torch


def _allocation_tag() -> Any | None:
    try:
        profiler = importlib.import_module("torch._C._profiler")
    except ImportError:
        return None
    event_type = getattr(profiler, "_EventType", None)
    return getattr(event_type, "Allocation", None)


def has_allocation_events() -> bool:
    """Whether ``step_allocation_peak`` can read allocator events on this torch."""
    return _allocation_tag() is not None


def live_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (a view counts once)."""
    seen: set[int] = set()
    total = 0
    for t in tensors:
        storage = t.untyped_storage()
        if storage.data_ptr() in seen:
            continue
        seen.add(storage.data_ptr())
        total += storage.nbytes()
    return total


def step_allocation_peak(step: Callable[[], object]) -> int:
    """The highest running total of CPU allocations minus frees while ``step`` runs (bytes
    above what was allocated when it started)."""
    tag = _allocation_tag()
    if tag is None:
        raise RuntimeError("this torch's profiler has no allocation events")
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events: list[tuple[int, int]] = []

    def walk(event: Any) -> None:
        if event.tag == tag:
            events.append((event.start_time_ns, int(event.extra_fields.alloc_size)))
        for child in event.children:
            walk(child)

    for root in prof.profiler.kineto_results.experimental_event_tree():
        walk(root)
    running = peak = 0
    for _, size in sorted(events):
        running += size
        peak = max(peak, running)
    return peak
