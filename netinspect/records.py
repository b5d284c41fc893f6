"""Plain records of one inspection. No torch here: renderers and ``diff`` read these without it.

A row is identified by its dotted ``name`` plus ``call_index``. Module rows are named after
the module (root ``""``, children ``a.b.c``); function rows are named ``<parent>.<op>``
(``flatten`` for an op called in the root's forward, ``layer1.0.__iadd__`` inside a block).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from netinspect.checkpoint_records import WeightsReport
from netinspect.display import ReportDisplay
from netinspect.serialize import report_to_dict
from netinspect.training_records import TrainingRecord

SCHEMA_VERSION = 1

Shape = tuple[int, ...]
# A shape on a symbolic pass: each dim an expression of the named dims in Python syntax
# ("B", "512", "H//32", "(H - 1)//2 + 1"); ``netinspect.symexpr`` prints them as ⌊H/32⌋.
SymShape = tuple[str, ...]
LayerKind = Literal["module", "function"]
# Where one input tensor of a row came from: the ``index`` of the row whose output it is (the
# innermost, first row to produce it), or a marker: "input" (a model input), "param",
# "buffer", "const" (anything else: a tensor made in forward, or one not traced).
InputSource = int | str
INPUT_SOURCE_MARKERS = ("input", "param", "buffer", "const")
# How the flatten point makes its 2-D output.
FlattenOperation = Literal["flattens", "reduces", "selects", "other"]


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """One executed module call or one functional op called from model code."""

    index: int
    name: str
    kind: LayerKind
    type: str
    depth: int
    parent: str | None
    call_index: int
    input_shapes: tuple[Shape, ...]
    output_shapes: tuple[Shape, ...]
    # Parameters first counted at this row: each parameter tensor is counted once, at the
    # first call of the first module that owns it, so the rows sum to the model's total.
    params: int = 0
    trainable_params: int = 0
    # Parameters this module owns that were already counted (tied weights, reused module).
    shared_params: int = 0
    source: str | None = None
    input_dtypes: tuple[str, ...] = ()
    output_dtypes: tuple[str, ...] = ()
    # Constructor settings of torch.nn modules (``__constants__``: in_features, kernel_size...).
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # Cost of the aten ops that ran while this row was the innermost running row (a container
    # row holds only the ops of its own forward; its children hold theirs), so rows sum to the
    # totals. FLOPs: matmuls and convs by torch.utils.flop_counter, every other op by the
    # conventions of netinspect.capture.cost_conventions; ``matmul_flops`` the first part only
    # (what FlopCounterMode counts); MACs = matmul_flops / 2 (see netinspect.capture.costs).
    flops: int = 0
    macs: int = 0
    matmul_flops: int = 0
    # Bytes of the output tensors this call allocated (views, its inputs, and tensors an inner
    # row already produced are not counted again), so rows sum to the total.
    activation_bytes: int = 0
    # Consecutive identical calls folded into this row by ``analysis.collapse_repeats`` (its
    # counts are their sums); 1 for a row as captured.
    repeat: int = 1
    # True when an output shape depends on tensor values (nonzero, a boolean mask, NMS, or
    # computed from such a tensor): another input or other weights give another size.
    data_dependent: bool = False
    # Data flow: per input tensor (parallel to ``input_shapes``), where it came from. None when
    # not recorded (reports saved before it existed). After folding (``--depth``, collapsed
    # repeats) a producer that is hidden is replaced by the visible row that hides it.
    inputs_from: tuple[InputSource, ...] | None = None
    # With named input dims (``--input Bx3xHxW``): the same shapes as expressions of them;
    # None on a plain inspection.
    input_shapes_symbolic: tuple[SymShape, ...] | None = None
    output_shapes_symbolic: tuple[SymShape, ...] | None = None


@dataclass(frozen=True, slots=True)
class Progression:
    """Sizes ``start, start + step, ...`` up to ``stop`` inclusive (None: without end)."""

    start: int
    step: int
    stop: int | None


@dataclass(frozen=True, slots=True)
class FlattenConsumer:
    """A row that uses the flattened features, with the size it expects when it declares one."""

    layer_index: int
    name: str
    type: str
    expected_in_features: int | None
    matches: bool | None
    # The row whose 2-D output it reads: the flatten point, or a twin of it (the second class
    # token ``x[:, 1]`` beside ``x[:, 0]``). None when not known (reports without data flow).
    from_layer_index: int | None = None


@dataclass(frozen=True, slots=True)
class FlattenPoint:
    """Where the main data path first drops from >=3-D to 2-D (batch, features)."""

    layer_index: int
    name: str
    kind: LayerKind
    type: str
    input_shape: Shape
    output_shape: Shape
    source: str | None
    # The input dims that were multiplied together, e.g. (512, 7, 7) for 25088; () when the
    # row does not flatten (it reduces or selects).
    flattened_dims: Shape
    # The first of ``consumers`` (kept for the JSON key ``flatten.consumer``).
    consumer: FlattenConsumer | None
    # "flattens" (flatten/view/reshape: the features are the product of the input's dims),
    # "reduces" (mean, sum, amax...), "selects" (indexing: x[:, 0]), "other"; "" when unknown.
    operation: FlattenOperation | Literal[""] = ""
    # Every row that consumes the features (two heads, two class tokens), in row order.
    consumers: tuple[FlattenConsumer, ...] = ()
    # The path from the flatten point to its first consumer (the head): the rows the features
    # pass through unchanged in shape (Identity, Dropout, norms, activations), then the head.
    # Empty when not known (reports saved before it existed, or no consumer).
    consumer_chain: tuple[ChainLink, ...] = ()


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One row on the way from the flatten point to its head."""

    layer_index: int
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class TokenReshape:
    """A row that folds the batch into another axis to make 2-D (``[B, T, H] -> [B·T, H]``, an
    MoE block's tokens): listed beside the flatten point, never as it."""

    layer_index: int
    name: str
    type: str
    input_shape: Shape
    output_shape: Shape


@dataclass(frozen=True, slots=True)
class FlattenSearch:
    """How the flatten point was looked for, and why there is none when there is none."""

    # The model input's batch size (the inputs' shared leading dim), None when not known.
    batch_size: int | None
    # "second pass": each row's batch dim is known from a second meta pass with another
    # batch; "row shapes": from the row's own shapes (its input and output share dim 0).
    batch_tracking: str
    # Why the batch was tracked by row shapes.
    batch_note: str | None = None
    # Why there is no flatten point ("output [1, 128, 4096] keeps the sequence axis", "not
    # reached: the forward failed at ..."); None when there is one.
    absent_reason: str | None = None
    token_reshapes: tuple[TokenReshape, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    source: str  # "torchvision" | "timm" | "hf" | "file" | "module" | "config" | "object"
    class_name: str
    # A config's ``description:``; None for every other source.
    description: str | None = None


@dataclass(frozen=True, slots=True)
class InputRecord:
    name: str
    shape: Shape
    dtype: str
    # The spec's dims with their names (("B", "3", "H", "W")); None without named dims.
    shape_symbolic: SymShape | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    param_bytes: int
    param_bytes_by_dtype: Mapping[str, int] = field(default_factory=dict)
    # Parameters of modules that the forward pass never called (counted in ``params``).
    uncalled_params: int = 0
    flops: int = 0
    macs: int = 0
    # The matmul/conv part of ``flops``: what torch.utils.flop_counter.FlopCounterMode counts.
    matmul_flops: int = 0
    # True when some op that does arithmetic has no FLOP formula: ``uncounted_ops`` names them.
    flops_partial: bool = False
    uncounted_ops: tuple[str, ...] = ()
    buffer_bytes: int = 0
    activation_bytes: int = 0


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """The call that raised during the pass, with what it expected when that is known."""

    layer_index: int | None
    name: str | None
    kind: LayerKind | None
    type: str | None
    source: str | None
    input_shapes: tuple[Shape, ...]
    expected: str | None
    message: str
    hint: str | None
    exception_type: str
    exception_message: str


@dataclass(frozen=True, slots=True)
class ShapeExplanation:
    """Why one row's output has its shape (``--explain``), and where it sits on the main path.

    ``cumulative_stride`` and ``receptive_field`` are per spatial dim, in input pixels, for
    rows with a spatial window (conv, pooling, upsampling); None elsewhere. Strides are
    fractions after upsampling, hence floats.
    """

    layer_index: int
    arithmetic: tuple[str, ...]
    cumulative_stride: tuple[float, ...] | None = None
    receptive_field: tuple[float, ...] | None = None
    warnings: tuple[str, ...] = ()
    # With named input dims: the same as expressions of them ("32·⌊H/32⌋/7"); a receptive
    # field that depends on them only through an adaptive window is given at the hint
    # ("212 at the hint").
    cumulative_stride_symbolic: tuple[str, ...] | None = None
    receptive_field_symbolic: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SymbolRecord:
    """One named input dim on a symbolic pass."""

    name: str
    hint: int
    # Where the hint came from: "--hint", "the default input 1x3x224x224", ...
    hint_source: str
    # Where the name appears: "input0[2]".
    positions: tuple[str, ...]
    # The sizes where every condition holds, the other names at their hints: exact, along
    # the branch the hints took (``netinspect sizes`` explores the others).
    valid: tuple[Progression, ...]
    valid_text: str
    # The range torch derived for the symbol (upper None: unbounded).
    range_lower: int = 1
    range_upper: int | None = None
    # Why torch fixed this dim to one size (a hint of 1, or an equality it needed); None when
    # it stayed symbolic.
    specialised: str | None = None


@dataclass(frozen=True, slots=True)
class ConditionRecord:
    """A condition torch needed on the symbolic pass (a guard), as an expression."""

    expression: str  # Python syntax over the names: "H//32 >= 1", "(H//32)*(W//32) == 49"
    symbols: tuple[str, ...]
    # The innermost row running when torch needed it, and the model line behind it.
    layer_index: int | None
    source: str | None
    # False when the other conditions already imply it (for each name, the others at their
    # hints); the table lists only the binding ones.
    is_binding: bool = True


@dataclass(frozen=True, slots=True)
class SymbolicFlatten:
    """The flatten point as a formula."""

    flattened_dims: SymShape  # ("512", "H//32", "W//32")
    features: str  # "512*(H//32)*(W//32)", or "25088" when no name changes it
    depends_on: tuple[str, ...]
    # "512*(H//32)*(W//32) == 25088": when the consumer's in_features matches (None when the
    # count is constant or there is no in_features to match).
    consumer_condition: str | None
    # Per name the sizes where it holds (the others at their hints), e.g. ("H", "224 to 255").
    consumer_valid: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SymbolicReport:
    """What the symbolic pass adds to a report (``--input`` with named dims)."""

    symbols: tuple[SymbolRecord, ...]
    conditions: tuple[ConditionRecord, ...]
    outputs: tuple[SymShape, ...]
    flatten: SymbolicFlatten | None
    notes: tuple[str, ...] = ()
    # Why the symbolic pass could not run or stopped (the rows then have no formulas).
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DisplayOptions:
    """How a report shows itself (``str``, notebooks) when the call that made it asked for a
    view: ``summary(depth=3, col_names=...)``. Not part of the JSON; None: the table's
    defaults. ``columns`` are names of ``render.Column`` ("shapes", "params", "macs"...)."""

    depth: int | None = None
    columns: tuple[str, ...] | None = None
    collapse: bool | None = None


# ``repr=False``: ``ReportDisplay`` gives the one-line repr; ``str`` is the table.
@dataclass(frozen=True, slots=True, repr=False)
class InspectionReport(ReportDisplay):
    model: ModelInfo
    device: str
    dtype: str
    inputs: tuple[InputRecord, ...]
    layers: tuple[LayerRecord, ...]
    flatten: FlattenPoint | None
    outputs: tuple[Shape, ...]
    totals: Totals
    netinspect_version: str = ""
    # Where each output tensor sits in what forward returned ("out", "[0].boxes"); "" for a
    # plain tensor. Parallel to ``outputs``.
    output_names: tuple[str, ...] = ()
    error: ErrorRecord | None = None
    # Diagnostics that belong with the numbers (device fallback, partial values).
    notes: tuple[str, ...] = ()
    # Versions and machine facts: kept apart so that diffs can ignore them.
    environment: Mapping[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    # Present only when asked for (``--explain`` / ``explain_report``): the JSON key too.
    explanations: tuple[ShapeExplanation, ...] | None = None
    # Indexes into ``outputs`` of the shapes that depend on tensor values (detection boxes).
    data_dependent_outputs: tuple[int, ...] = ()
    # Present only with named input dims (``--input Bx3xHxW``): the JSON key too.
    symbolic: SymbolicReport | None = None
    # How the flatten point was found, or why there is none (None in reports saved before).
    flatten_search: FlattenSearch | None = None
    # The view asked for when the report was made (see ``DisplayOptions``); never compared.
    display: DisplayOptions | None = field(default=None, compare=False)
    # ``--weights``: each tensor's fate (loaded, shape mismatch, missing, unexpected).
    weights: WeightsReport | None = None
    # Present only with ``--train``: the JSON key ``training`` too.
    training: TrainingRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        """Exactly what ``--format json`` prints."""
        return report_to_dict(self)
