"""Records for checkpoint files: what a checkpoint holds (``CheckpointReport``), what it
resembles (``ArchitectureMatch``) and how it fits a model (``WeightsReport``).

Frozen dataclasses without formatting; ``checkpoint_serialize`` turns them into the JSON API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CHECKPOINT_SCHEMA_VERSION = 1

Shape = tuple[int, ...]

# A tensor's status when a checkpoint is loaded into a model (``WeightRow.status``).
LOADED = "loaded"
SHAPE_MISMATCH = "shape mismatch"
MISSING = "missing in checkpoint"
UNEXPECTED = "unexpected in checkpoint"
WEIGHT_STATUSES = (LOADED, SHAPE_MISMATCH, MISSING, UNEXPECTED)

# A tensor's status when two tensor sets are compared (``TensorChange.status``).
SAME = "same"
SHAPE_CHANGED = "shape changed"
DTYPE_CHANGED = "dtype changed"
ONLY_IN_A = "only in A"
ONLY_IN_B = "only in B"


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One tensor of a checkpoint, as its header or pickle declares it (no data read)."""

    key: str
    shape: Shape
    dtype: str  # torch's name without the prefix: "float32", "bfloat16", "int64"
    numel: int
    nbytes: int
    shard: str | None = None  # the file holding it, for a sharded checkpoint


@dataclass(frozen=True, slots=True)
class TensorChange:
    """One key of two tensor sets side by side (A: the first, B: the second)."""

    key: str
    status: str  # SAME | SHAPE_CHANGED | DTYPE_CHANGED | ONLY_IN_A | ONLY_IN_B
    shape_a: Shape | None
    shape_b: Shape | None
    dtype_a: str | None
    dtype_b: str | None


@dataclass(frozen=True, slots=True)
class ArchitectureMatch:
    """The known architecture whose state dict is closest to a checkpoint's."""

    source: str  # "torchvision" | "timm"
    name: str
    description: str  # "torchvision alexnet, except classifier.6: 1000 → 3 outputs"
    matching: int  # tensors with the same key and shape
    total: int  # tensors in the checkpoint
    differences: tuple[TensorChange, ...]  # every key that is not SAME


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    path: str
    format: str  # "torch zip" | "torch legacy" | "safetensors" | "safetensors index" | ...
    tensors: tuple[TensorEntry, ...]
    unwrapped: tuple[str, ...] = ()  # the nesting taken off: ("state_dict",), ("model", "ema")
    files: tuple[str, ...] = ()  # the shards (for an index or a directory)
    metadata: Mapping[str, str] = field(default_factory=dict)  # non-tensor entries, header metadata
    config: Mapping[str, str] = field(
        default_factory=dict
    )  # a model directory's config: type, class
    architecture: ArchitectureMatch | None = None
    searched: tuple[str, ...] = ()  # what was searched for the architecture, and what was not
    notes: tuple[str, ...] = ()
    netinspect_version: str = ""
    schema_version: int = CHECKPOINT_SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class WeightRow:
    """One tensor of a ``--weights`` load: the model's key, or the checkpoint's for an
    unexpected one (``checkpoint_key`` is the key as stored, before a prefix was stripped)."""

    key: str
    status: str  # LOADED | SHAPE_MISMATCH | MISSING | UNEXPECTED
    checkpoint_key: str | None
    checkpoint_shape: Shape | None
    checkpoint_dtype: str | None
    model_shape: Shape | None
    model_dtype: str | None


@dataclass(frozen=True, slots=True)
class WeightsReport:
    path: str
    rows: tuple[WeightRow, ...]
    stripped_prefix: str | None = None  # "module." when every key carried it
    unwrapped: tuple[str, ...] = ()
    is_partial: bool = False  # --weights-partial: what matched was loaded, the rest kept
    values_loaded: bool = False  # False on the meta device: names, shapes and dtypes only
    random_init: tuple[str, ...] = ()  # modules keeping their initialisation (partial load)
    notes: tuple[str, ...] = ()
