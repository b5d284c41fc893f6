"""``netinspect FILE``: what a checkpoint holds, read without its data, and the known
architecture it matches (torchvision's classification zoo, timm's when installed)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from netinspect import __version__
from netinspect.analysis.tensor_sets import (
    compare_tensors,
    describe_differences,
    strip_wrapper_prefix,
)
from netinspect.checkpoint_records import (
    ONLY_IN_A,
    ONLY_IN_B,
    SAME,
    ArchitectureMatch,
    CheckpointReport,
    TensorEntry,
)
from netinspect.sources.checkpoint.read import read_checkpoint

# A candidate is named only when most of the checkpoint's tensors meet it, key and shape.
MIN_SHARE = 0.8
# A replaced head: its weight and bias, or two linear layers' (a new classifier block).
_HEAD_TENSORS = 4
_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def _best(
    source: str,
    candidates: Iterable[tuple[str, tuple[TensorEntry, ...]]],
    tensors: tuple[TensorEntry, ...],
) -> tuple[ArchitectureMatch | None, int]:
    best: ArchitectureMatch | None = None
    tried = 0
    for name, state in candidates:
        tried += 1
        changes = compare_tensors(state, tensors)
        same = sum(1 for c in changes if c.status == SAME)
        if best is not None and same <= best.matching:
            continue
        label = f"{source} {name}"
        differences = tuple(c for c in changes if c.status != SAME)
        best = ArchitectureMatch(
            source, name, describe_differences(label, changes), same, len(tensors), differences
        )
        if len(differences) <= _HEAD_TENSORS and not any(
            c.status in (ONLY_IN_A, ONLY_IN_B) for c in differences
        ):
            break  # every key meets and at most a head differs: nothing closer to find
    return best, tried


def find_architecture(
    tensors: tuple[TensorEntry, ...], *, search_timm: bool = True
) -> tuple[ArchitectureMatch | None, tuple[str, ...]]:
    """The closest known architecture (or None) and what was searched, in words."""
    stripped, prefix = strip_wrapper_prefix(tensors)
    if not any(len(t.shape) == 4 for t in stripped):
        return None, (
            "torchvision and timm not searched: no 4-d convolution weight (every model of "
            "their classification zoos has one)",
        )
    keys = tuple(t.key for t in stripped)
    params = sum(t.numel for t in stripped if not t.key.endswith(_BUFFERS))
    from netinspect.sources.checkpoint.zoo import (
        timm_candidates,
        timm_states,
        torchvision_candidates,
    )

    start = time.perf_counter()
    match, tried = _best("torchvision", torchvision_candidates(keys, params), stripped)
    searched = [
        f"torchvision classification: {tried} compared ({time.perf_counter() - start:.1f} s)"
    ]
    exact = match is not None and not any(
        c.status in (ONLY_IN_A, ONLY_IN_B) for c in match.differences
    )
    if exact:
        searched.append("timm not searched: torchvision matched every key")
    elif search_timm:
        names, why = timm_candidates(keys)
        if why is not None:
            searched.append(f"timm not searched: {why}")
        else:
            start = time.perf_counter()
            found, tried = _best("timm", timm_states(names), stripped)
            searched.append(
                f"timm: {tried} of {len(names)} candidates compared "
                f"({time.perf_counter() - start:.1f} s)"
            )
            if found is not None and (match is None or found.matching > match.matching):
                match = found
    if match is not None and match.matching < MIN_SHARE * len(stripped):
        searched.append(f"closest: {match.description} (too far to name)")
        match = None
    if match is not None and prefix:
        match = ArchitectureMatch(
            match.source,
            match.name,
            f"{match.description} (keys prefixed {prefix})",
            match.matching,
            match.total,
            match.differences,
        )
    return match, tuple(searched)


def _config_architecture(
    path: str, tensors: tuple[TensorEntry, ...]
) -> tuple[ArchitectureMatch | None, tuple[str, ...]]:
    """A model directory's config names its architecture: build that on meta and compare."""
    from netinspect.sources.checkpoint.zoo import transformers_state

    try:
        built = transformers_state(path)
    except Exception as exc:  # a config transformers cannot build is reported, not fatal
        return None, (f"transformers could not build the config's model ({type(exc).__name__})",)
    if built is None:
        return None, ("the config's architecture not built: transformers is not installed",)
    match, _ = _best("transformers", [built], tensors)
    if match is not None and match.matching < MIN_SHARE * len(tensors):
        return None, (f"the config's {built[0]}: {match.description} (too far to name)",)
    return match, (f"transformers: the config's {built[0]}",)


def inspect_checkpoint(path: str, *, match_architecture: bool = True) -> CheckpointReport:
    """Read ``path`` (a ``.pt``/``.pth``/``.bin``/``.ckpt``, a ``.safetensors``, a sharded
    index or a model directory) without its data and name its architecture. Raises
    WeightsError (exit 2) for a file that is not a checkpoint or is refused."""
    contents = read_checkpoint(path)
    tensors = tuple(contents.tensors)
    match: ArchitectureMatch | None = None
    searched: tuple[str, ...] = ()
    if match_architecture and contents.config:
        match, searched = _config_architecture(path, tensors)
    if match_architecture and match is None:
        match, more = find_architecture(tensors)
        searched += more
    return CheckpointReport(
        path=path,
        format=contents.format,
        tensors=tensors,
        unwrapped=contents.unwrapped,
        files=contents.files,
        metadata=contents.metadata,
        config=contents.config,
        architecture=match,
        searched=searched,
        notes=tuple(contents.notes),
        netinspect_version=__version__,
    )
