"""``netinspect diff`` with a checkpoint on either side: tensor by tensor (same / shape
changed / dtype changed / only in A / only in B), an architecture against a checkpoint or two
checkpoints against each other. An architecture side is built on meta (shapes only)."""

from __future__ import annotations

from dataclasses import dataclass

from netinspect.analysis.tensor_sets import compare_tensors, strip_prefix, strip_wrapper_prefix
from netinspect.checkpoint_records import SAME, TensorChange, TensorEntry
from netinspect.sources.checkpoint.detect import is_checkpoint_target


@dataclass(frozen=True, slots=True)
class TensorDiff:
    a: str
    b: str
    changes: tuple[TensorChange, ...]
    notes: tuple[str, ...] = ()

    @property
    def is_same(self) -> bool:
        return all(c.status == SAME for c in self.changes)


def _side(target: str, allow_import: tuple[str, ...]) -> tuple[tuple[TensorEntry, ...], bool]:
    """The tensors of a checkpoint (read without data), or of a model's state dict on meta."""
    if is_checkpoint_target(target):
        from netinspect.sources.checkpoint.read import read_checkpoint

        return tuple(read_checkpoint(target).tensors), True
    from netinspect.sources.build import _build, unwrap_model
    from netinspect.sources.checkpoint.read import tensor_entry

    model, _ = unwrap_model(_build(target, "meta", allow_import=allow_import, zero_init=True))
    return tuple(tensor_entry(k, v) for k, v in model.state_dict().items()), False


def _stripped(
    tensors: tuple[TensorEntry, ...], reference: tuple[TensorEntry, ...]
) -> tuple[tuple[TensorEntry, ...], str]:
    prefix, _ = strip_prefix([t.key for t in tensors], [t.key for t in reference])
    if not prefix:
        return tensors, ""
    return tuple(
        TensorEntry(t.key[len(prefix) :], t.shape, t.dtype, t.numel, t.nbytes, t.shard)
        for t in tensors
    ), prefix


def diff_tensors(a: str, b: str, *, allow_import: tuple[str, ...] = ()) -> TensorDiff:
    """Compare two targets' tensors, one of them (at least) a checkpoint. A checkpoint's
    wrapper prefix (``module.``) is stripped when that makes its keys meet the other side's."""
    side_a, is_ckpt_a = _side(a, allow_import)
    side_b, is_ckpt_b = _side(b, allow_import)
    notes: list[str] = []
    if is_ckpt_a and is_ckpt_b:
        # Two checkpoints: each loses the wrapper prefix all its keys carry.
        side_a, prefix_a = strip_wrapper_prefix(side_a)
        side_b, prefix_b = strip_wrapper_prefix(side_b)
        notes += [
            f"every key in {name} starts with {p!r}: stripped"
            for name, p in ((a, prefix_a), (b, prefix_b))
            if p
        ]
    elif is_ckpt_b:
        side_b, prefix = _stripped(side_b, side_a)
        if prefix:
            notes.append(f"every key in {b} starts with {prefix!r}: stripped")
    elif is_ckpt_a:
        side_a, prefix = _stripped(side_a, side_b)
        if prefix:
            notes.append(f"every key in {a} starts with {prefix!r}: stripped")
    return TensorDiff(a, b, compare_tensors(side_a, side_b), tuple(notes))
