"""The ``--input`` grammar. Pure Python: argument errors must not pay for importing torch.

    spec    := [name ("." key)* "="] value   (dots: a dict-valued input, see below)
    value   := tensor | "[" tensor ("," tensor)* "]"      (a list input, e.g. detection images)
    tensor  := dim (sep dim)* [":" dtype] [":" fill]
    sep     := "x" | "X" | "×" | ","   ("," only outside brackets)
    dim     := a positive integer | a name
    name    := a letter, then letters, digits or "_" (never x or X: they separate dims)
    fill    := "zeros" | "ones"         (the dummy values; zeros by default)

Examples: ``1x3x224x224``, ``1,3,224,224``, ``1x128:int64``, ``text=1x10``,
``images=[3x224x224,3x200x300]``, ``attention_mask=1x128:int64:ones``. A dotted name builds a
dict-valued keyword input: ``batch.input_ids=1x128:int64 batch.attention_mask=1x128:int64:ones``
passes ``batch={"input_ids": ..., "attention_mask": ...}`` (deeper dots nest dicts), for a
``forward(self, batch)`` that indexes its input by key. A name makes the dim
symbolic: ``Bx3xHxW``, ``Bx128:int64`` (the same name twice is one size). Its value for the
pass (the hint) comes from ``--hint H=224`` or a default (``default_hints``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netinspect.errors import InputSpecError, UsageError, first_line
from netinspect.limits import MAX_NESTING, is_nested_too_deep

# Canonical dtype names are torch's attribute names; aliases map onto them.
DTYPE_ALIASES: dict[str, str] = {
    "float32": "float32",
    "float": "float32",
    "f32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "half": "float16",
    "f16": "float16",
    "fp16": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float64": "float64",
    "double": "float64",
    "f64": "float64",
    "int64": "int64",
    "long": "int64",
    "int32": "int32",
    "int": "int32",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
    "complex64": "complex64",
}

FLOAT_DTYPES = frozenset({"float32", "float16", "bfloat16", "float64"})

# What a dummy tensor holds. Zeros are valid token ids and cheap; an attention mask wants ones
# (all tokens visible), or the model takes its padding path.
FILLS = ("zeros", "ones")

# Dims above this are refused by the parser itself; memory checks come later, per device.
MAX_DIM = 2**40
# torch computes storage sizes in bytes as int64: 2**60 elements of 8 bytes is the ceiling.
MAX_ELEMENTS = 2**60


# A dim of a spec: a size, or the name of a symbolic size ("H").
SpecDim = int | str
_SEPARATORS = "xX×"


@dataclass(frozen=True, slots=True)
class TensorSpec:
    shape: tuple[SpecDim, ...]
    # None: the model's floating dtype (float32 unless --dtype says otherwise).
    dtype: str | None = None
    fill: str = "zeros"


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One ``--input``: a positional (``name`` None) or keyword input, a tensor or a list."""

    name: str | None
    value: TensorSpec | tuple[TensorSpec, ...]


def parse_dtype(text: str) -> str:
    """Canonical dtype name for ``text``; raises ValueError listing the choices."""
    key = text.strip().lower().removeprefix("torch.")
    if key not in DTYPE_ALIASES:
        choices = ", ".join(sorted(set(DTYPE_ALIASES.values())))
        raise ValueError(f"unknown dtype {text!r} (choose from {choices})")
    return DTYPE_ALIASES[key]


class _Scanner:
    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.pos = 0

    def peek(self) -> str:
        return self.spec[self.pos] if self.pos < len(self.spec) else ""

    def fail(self, reason: str, position: int | None = None) -> InputSpecError:
        at = self.pos if position is None else position
        return InputSpecError(self.spec, reason, at)

    def unexpected(self, expected: str) -> InputSpecError:
        ch = self.peek()
        if not ch:
            return self.fail(f"expected {expected} but the spec ended")
        return self.fail(f"unexpected {ch!r}, expected {expected}")

    def skip_spaces(self) -> None:
        """Inside a list, "[3x224x224, 3x200x300]" reads as the user meant it."""
        while self.peek() == " ":
            self.pos += 1

    def name(self) -> str:
        start = self.pos
        while (
            self.peek()
            and self.peek() not in _SEPARATORS
            and (self.peek().isalnum() or self.peek() == "_")
        ):
            if not self.peek().isascii():
                raise self.fail(f"unexpected {self.peek()!r} in a dim name")
            self.pos += 1
        return self.spec[start : self.pos]

    def dim(self) -> SpecDim:
        start = self.pos
        ch = self.peek()
        if ch.isalpha() and ch.isascii() and ch not in _SEPARATORS:
            return self.name()
        if self.peek() == "-":
            raise self.fail("dimensions must be positive integers, got a negative number")
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        if start == self.pos:
            error = self.unexpected("a dimension (a positive integer or a name such as H)")
            if start >= 2 and self.spec[start - 1] in "xX" and self.spec[start - 2].isalpha():
                error = self.fail(
                    f"{error.reason}; a name cannot contain 'x', which separates dims"
                )
            raise error
        if self.pos - start > len(str(MAX_DIM)):
            # Checked before int(): Python refuses to convert strings of thousands of digits.
            raise self.fail(f"dimension of {self.pos - start} digits is absurdly large", start)
        value = int(self.spec[start : self.pos])
        if value == 0:
            raise self.fail("dimensions must be positive integers, got 0", start)
        if value > MAX_DIM:
            raise self.fail(f"dimension {value} is absurdly large", start)
        return value

    def suffix(self) -> tuple[str | None, int]:
        """The word after a ':' (a dtype or a fill) and where it starts; None without a ':'."""
        if self.peek() != ":":
            return None, self.pos
        self.pos += 1
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() in "._"):
            self.pos += 1
        if start == self.pos:
            raise self.unexpected("a dtype after ':' (or a fill: zeros, ones)")
        return self.spec[start : self.pos], start

    def tensor(self, in_list: bool) -> TensorSpec:
        seps = "xX×" if in_list else "xX×,"
        dims = [self.dim()]
        while self.peek() and self.peek() in seps:
            self.pos += 1
            dims.append(self.dim())
        dtype = None
        fill = "zeros"
        word, at = self.suffix()
        if word is not None and word.lower() in FILLS:
            fill = word.lower()
        elif word is not None:
            try:
                dtype = parse_dtype(word)
            except ValueError as exc:
                raise self.fail(f"{exc}, or a fill: zeros, ones", at) from None
            word, at = self.suffix()
            if word is not None:
                if word.lower() not in FILLS:
                    raise self.fail(f"unknown fill {word!r} (choose from zeros, ones)", at)
                fill = word.lower()
        numeric = math.prod(d for d in dims if isinstance(d, int))
        if numeric > MAX_ELEMENTS:
            raise self.fail(
                f"{numeric:.3g} elements: more than any device, even meta, can "
                f"describe (at most 2**{MAX_ELEMENTS.bit_length() - 1})"
            )
        return TensorSpec(tuple(dims), dtype, fill)


def parse_input_spec(spec: str) -> InputSpec:
    """Parse one ``--input`` value; raises InputSpecError naming the offending character."""
    text = spec.strip()
    if not text:
        raise InputSpecError(spec, "the spec is empty")
    scanner = _Scanner(text)
    name = None
    if "=" in text:
        head, _, _ = text.partition("=")
        if not all(part.isidentifier() for part in head.split(".")):
            bad = next((i for i, ch in enumerate(head) if not (ch.isalnum() or ch == "_")), 0)
            raise scanner.fail(f"{head!r} is not a valid input name", bad)
        name = head
        scanner.pos = len(head) + 1
    value: TensorSpec | tuple[TensorSpec, ...]
    if scanner.peek() == "[":
        scanner.pos += 1
        scanner.skip_spaces()
        items = [scanner.tensor(in_list=True)]
        scanner.skip_spaces()
        while scanner.peek() == ",":
            scanner.pos += 1
            scanner.skip_spaces()
            items.append(scanner.tensor(in_list=True))
            scanner.skip_spaces()
        if scanner.peek() != "]":
            raise scanner.unexpected("',' or ']'")
        scanner.pos += 1
        value = tuple(items)
    else:
        value = scanner.tensor(in_list=False)
    if scanner.pos != len(text):
        raise scanner.unexpected("'x', ',', ':dtype' or ':ones'")
    return InputSpec(name, value)


def parse_input_specs(specs: list[str] | tuple[str, ...]) -> tuple[InputSpec, ...]:
    parsed = tuple(parse_input_spec(s) for s in specs)
    seen: set[str] = set()
    positional_after_keyword = False
    for p in parsed:
        if p.name is None:
            positional_after_keyword = positional_after_keyword or bool(seen)
        elif p.name in seen:
            raise InputSpecError(p.name, "keyword input given twice")
        else:
            seen.add(p.name)
    if positional_after_keyword:
        raise InputSpecError(
            " ".join(specs), "positional inputs must come before keyword inputs (name=...)"
        )
    return parsed


def tensor_specs(spec: InputSpec) -> tuple[TensorSpec, ...]:
    """The tensors of one input: itself, or the items of a list input."""
    return spec.value if isinstance(spec.value, tuple) else (spec.value,)


def dim_names(specs: tuple[InputSpec, ...] | list[InputSpec]) -> list[str]:
    """The symbolic dims' names in order of first appearance."""
    names: dict[str, None] = {}
    for spec in specs:
        for t in tensor_specs(spec):
            names.update((d, None) for d in t.shape if isinstance(d, str))
    return list(names)


def is_symbolic(specs: tuple[InputSpec, ...] | list[InputSpec]) -> bool:
    return bool(dim_names(specs))


def int_shape(t: TensorSpec) -> tuple[int, ...]:
    """The shape of a spec whose dims are all sizes (after ``bind_hints``)."""
    if not all(isinstance(d, int) for d in t.shape):
        raise ValueError(f"unbound symbolic dims in {format_tensor_spec(t)}")
    return tuple(int(d) for d in t.shape)


def bind_hints(
    specs: tuple[InputSpec, ...] | list[InputSpec], hints: Mapping[str, int]
) -> tuple[InputSpec, ...]:
    """The specs with each named dim in ``hints`` replaced by its size (all of them: what the
    concrete pass runs; some: a pass where only the others stay symbolic)."""

    def bind(t: TensorSpec) -> TensorSpec:
        shape = tuple(hints.get(d, d) if isinstance(d, str) else d for d in t.shape)
        return TensorSpec(shape, t.dtype, t.fill)

    return tuple(
        InputSpec(
            s.name,
            tuple(bind(t) for t in s.value) if isinstance(s.value, tuple) else bind(s.value),
        )
        for s in specs
    )


def parse_hints(texts: list[str] | tuple[str, ...]) -> dict[str, int]:
    """``--hint H=224`` (repeatable, or ``H=224,W=320``): the size each named dim takes on the
    pass. Raises UsageError on a malformed one or a name given twice."""
    out: dict[str, int] = {}
    for text in texts:
        for part in text.split(","):
            name, sep, raw = (p.strip() for p in part.partition("="))
            value = raw.removeprefix("+")
            if not sep or not name or not name.isidentifier() or not value.isdigit():
                raise UsageError(
                    f"malformed --hint {text!r}: expected NAME=SIZE, e.g. --hint H=224"
                )
            if len(value) > len(str(MAX_DIM)) or int(value) > MAX_DIM or int(value) < 1:
                raise UsageError(f"--hint {name}={raw}: a size from 1 to 2**40")
            if name in out:
                raise UsageError(f"--hint {name} given twice")
            out[name] = int(value)
    return out


# Where no default input says otherwise: a batch dim gets 2 (sizes 0 and 1 are specialised by
# torch, so 1 would hide the batch from the formulas), the spatial dims of an image-like
# input 224, a sequence length 128.
FALLBACK_BATCH_HINT = 2
FALLBACK_SPATIAL_HINT = 224
FALLBACK_LENGTH_HINT = 128


def default_hints(
    specs: tuple[InputSpec, ...], defaults: tuple[InputSpec, ...]
) -> dict[str, tuple[int, str]]:
    """A hint for every named dim: (size, where it came from). The model's default input gives
    the size at the same place (position or keyword, same rank); a 0 or 1 there becomes 2, so
    torch keeps the dim symbolic. Without one: batch 2, spatial 224, length 128."""
    out: dict[str, tuple[int, str]] = {}
    positional = [d for d in defaults if d.name is None]
    keyword = {d.name: d for d in defaults if d.name is not None}
    position = 0
    for spec in specs:
        if spec.name is None:
            default = positional[position] if position < len(positional) else None
            position += 1
        else:
            default = keyword.get(spec.name)
        items = tensor_specs(spec)
        default_items = tensor_specs(default) if default is not None else ()
        for k, t in enumerate(items):
            ref = default_items[k] if k < len(default_items) else None
            for i, d in enumerate(t.shape):
                if not isinstance(d, str) or d in out:
                    continue
                if ref is not None and len(ref.shape) == len(t.shape):
                    value = ref.shape[i]
                    if isinstance(value, int):
                        shown = format_tensor_spec(ref)
                        if value < 2:
                            out[d] = (
                                2,
                                f"the default input {shown} has {value}; torch fixes 0 and 1",
                            )
                        else:
                            out[d] = (value, f"the default input {shown}")
                        continue
                if i == 0 and len(t.shape) >= 2:
                    out[d] = (FALLBACK_BATCH_HINT, "the batch default")
                elif len(t.shape) >= 3 and i >= 2:
                    out[d] = (FALLBACK_SPATIAL_HINT, "the spatial default")
                else:
                    out[d] = (FALLBACK_LENGTH_HINT, "the length default")
    return out


def format_tensor_spec(t: TensorSpec) -> str:
    body = "x".join(str(d) for d in t.shape)
    body = f"{body}:{t.dtype}" if t.dtype else body
    return body if t.fill == "zeros" else f"{body}:{t.fill}"


def format_input_spec(spec: InputSpec) -> str:
    if isinstance(spec.value, tuple):
        body = "[" + ",".join(format_tensor_spec(t) for t in spec.value) + "]"
    else:
        body = format_tensor_spec(spec.value)
    return f"{spec.name}={body}" if spec.name else body


def parse_forward_arg(text: str) -> tuple[str, Any]:
    """One ``--arg name=value``: a non-tensor forward argument. The value is a YAML scalar
    (``true``, ``3``, ``0.5``, ``null``, ``mean``); collections are refused."""
    import yaml

    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise UsageError(
            f"malformed --arg {text!r}: expected name=value, e.g. --arg return_loss=false"
        )
    if is_nested_too_deep(raw):
        # PyYAML recurses once per level: refuse before it reaches the recursion limit.
        raise UsageError(f"--arg {name}: the value is nested more than {MAX_NESTING} levels deep")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError as exc:
        raise UsageError(f"malformed --arg {text!r}: {first_line(exc)}") from None
    if isinstance(value, (list, dict)):
        raise UsageError(
            f"--arg {name}: the value must be a scalar (a number, string, bool or null)"
        )
    if not isinstance(value, (bool, int, float, str, type(None))):
        value = raw.strip()  # YAML dates and the like: pass the text through as written
    return name, value


def parse_forward_args(texts: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``--arg`` values as keyword arguments for forward; a name given twice is an error."""
    out: dict[str, Any] = {}
    for text in texts:
        name, value = parse_forward_arg(text)
        if name in out:
            raise UsageError(f"--arg {name} given twice")
        out[name] = value
    return out
