"""Two sets of tensors side by side: a checkpoint against a model (``--weights``), against a
known architecture (naming it), or against another checkpoint (``diff``). Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netinspect.checkpoint_records import (
    DTYPE_CHANGED,
    LOADED,
    MISSING,
    ONLY_IN_A,
    ONLY_IN_B,
    SAME,
    SHAPE_CHANGED,
    SHAPE_MISMATCH,
    UNEXPECTED,
    TensorChange,
    TensorEntry,
    WeightRow,
)

# Prefixes that wrappers add to every key: DataParallel/DDP, torch.compile, Lightning's
# ``self.model``. Stripped (in this order, repeatedly) when every key carries one.
COMMON_PREFIXES = ("module.", "_orig_mod.", "model.")


def strip_prefix(keys: Sequence[str], reference: Iterable[str]) -> tuple[str, dict[str, str]]:
    """The prefix to strip from ``keys`` so they meet ``reference`` ("" for none), and the map
    from each stripped key to the original. A prefix is stripped only when every key has it
    and stripping it makes more keys meet the reference."""
    wanted = set(reference)
    stripped = ""
    current = {k: k for k in keys}
    while current:
        for prefix in COMMON_PREFIXES:
            if all(k.startswith(prefix) for k in current):
                candidate = {k[len(prefix) :]: v for k, v in current.items()}
                if len(wanted & candidate.keys()) > len(wanted & current.keys()):
                    current, stripped = candidate, stripped + prefix
                    break
        else:
            break
    return stripped, current


def strip_wrapper_prefix(
    tensors: Sequence[TensorEntry],
) -> tuple[tuple[TensorEntry, ...], str]:
    """Without a reference: strip the wrapper prefixes every key carries (``module.``, then
    ``_orig_mod.``; ``model.`` only as the first, Lightning's ``self.model``)."""
    prefix = ""
    current = tuple(tensors)
    while current:
        found = next(
            (p for p in COMMON_PREFIXES if all(t.key.startswith(p) for t in current)), None
        )
        if found is None or (found == "model." and prefix):
            break
        prefix += found
        current = tuple(
            TensorEntry(t.key[len(found) :], t.shape, t.dtype, t.numel, t.nbytes, t.shard)
            for t in current
        )
    return current, prefix


def compare_tensors(a: Sequence[TensorEntry], b: Sequence[TensorEntry]) -> tuple[TensorChange, ...]:
    """Every key of ``a`` (in its order), then the keys only in ``b``."""
    by_key = {t.key: t for t in b}
    changes: list[TensorChange] = []
    for t in a:
        other = by_key.pop(t.key, None)
        if other is None:
            changes.append(TensorChange(t.key, ONLY_IN_A, t.shape, None, t.dtype, None))
            continue
        status = SAME
        if t.shape != other.shape:
            status = SHAPE_CHANGED
        elif t.dtype != other.dtype:
            status = DTYPE_CHANGED
        changes.append(TensorChange(t.key, status, t.shape, other.shape, t.dtype, other.dtype))
    changes += [
        TensorChange(t.key, ONLY_IN_B, None, t.shape, None, t.dtype) for t in by_key.values()
    ]
    return tuple(changes)


def _module(key: str) -> str:
    return key.rpartition(".")[0] or key


def describe_differences(name: str, changes: Sequence[TensorChange]) -> str:
    """``torchvision alexnet, except classifier.6: 1000 → 3 outputs`` (A: the known model,
    B: the checkpoint)."""
    differing = [c for c in changes if c.status != SAME]
    if not differing:
        return f"{name}, exactly"
    parts: list[str] = []
    by_module: dict[str, list[TensorChange]] = {}
    for c in differing:
        if c.status in (SHAPE_CHANGED, DTYPE_CHANGED):
            by_module.setdefault(_module(c.key), []).append(c)
    for module, group in by_module.items():
        shaped = [c for c in group if c.status == SHAPE_CHANGED]
        outs = {(c.shape_a[0], c.shape_b[0]) for c in shaped if c.shape_a and c.shape_b}
        only_first_dim = all(
            c.shape_a is not None
            and c.shape_b is not None
            and len(c.shape_a) == len(c.shape_b)
            and c.shape_a[1:] == c.shape_b[1:]
            for c in shaped
        )
        if shaped and only_first_dim and len(outs) == 1:
            old, new = next(iter(outs))
            parts.append(f"{module}: {old} → {new} outputs")
        elif shaped:
            parts += [f"{c.key}: {list(c.shape_a or ())} → {list(c.shape_b or ())}" for c in shaped]
        parts += [f"{c.key}: {c.dtype_a} → {c.dtype_b}" for c in group if c.status == DTYPE_CHANGED]
    only_model = [c.key for c in differing if c.status == ONLY_IN_A]
    only_ckpt = [c.key for c in differing if c.status == ONLY_IN_B]
    if only_model:
        parts.append(f"{_tensors(len(only_model))} missing ({_few(only_model)})")
    if only_ckpt:
        parts.append(f"{_tensors(len(only_ckpt))} extra ({_few(only_ckpt)})")
    shown = parts[:4] + ([f"and {len(parts) - 4} more"] if len(parts) > 4 else [])
    return f"{name}, except " + "; ".join(shown)


def _tensors(n: int) -> str:
    return f"{n} tensor" if n == 1 else f"{n} tensors"


def _few(keys: Sequence[str]) -> str:
    return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")


def weight_rows(
    model: Sequence[TensorEntry], checkpoint: Sequence[TensorEntry]
) -> tuple[tuple[WeightRow, ...], str]:
    """One row per tensor of a ``--weights`` load (model order, then the unexpected ones),
    and the prefix stripped from the checkpoint's keys ("" for none)."""
    prefix, originals = strip_prefix([t.key for t in checkpoint], [t.key for t in model])
    by_key = {t.key: t for t in checkpoint}
    stored = {stripped: by_key[original] for stripped, original in originals.items()}
    rows: list[WeightRow] = []
    for m in model:
        c = stored.pop(m.key, None)
        if c is None:
            rows.append(WeightRow(m.key, MISSING, None, None, None, m.shape, m.dtype))
            continue
        status = LOADED if c.shape == m.shape else SHAPE_MISMATCH
        rows.append(WeightRow(m.key, status, c.key, c.shape, c.dtype, m.shape, m.dtype))
    rows += [
        WeightRow(k, UNEXPECTED, c.key, c.shape, c.dtype, None, None) for k, c in stored.items()
    ]
    return tuple(rows), prefix
