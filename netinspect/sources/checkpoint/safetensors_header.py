"""A ``.safetensors`` file's header, read and checked without torch and without its data.

The format: 8 bytes, the header's length N (little-endian u64); N bytes of JSON mapping each
tensor's name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets relative to the
end of the header) plus an optional ``"__metadata__"`` of strings; then the data. A header is
refused when it is too long, not JSON, or when an entry's offsets are out of range, overlap
another's, or disagree with its shape and dtype (what the safetensors library checks too).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from netinspect.checkpoint_records import TensorEntry
from netinspect.errors import WeightsError
from netinspect.fileio import JsonTooComplex, parse_json

# The safetensors library refuses headers over 100 MB; a real one is a few hundred kB.
MAX_HEADER_BYTES = 100_000_000
MAX_TENSORS = 1_000_000
MAX_DIMS = 64

# safetensors dtype code -> (torch dtype name, bits per element)
DTYPES: dict[str, tuple[str, int]] = {
    "F64": ("float64", 64),
    "F32": ("float32", 32),
    "F16": ("float16", 16),
    "BF16": ("bfloat16", 16),
    "I64": ("int64", 64),
    "I32": ("int32", 32),
    "I16": ("int16", 16),
    "I8": ("int8", 8),
    "U64": ("uint64", 64),
    "U32": ("uint32", 32),
    "U16": ("uint16", 16),
    "U8": ("uint8", 8),
    "BOOL": ("bool", 8),
    "F8_E4M3": ("float8_e4m3fn", 8),
    "F8_E5M2": ("float8_e5m2", 8),
    "C64": ("complex64", 64),
}


@dataclass(frozen=True, slots=True)
class SafetensorsHeader:
    tensors: tuple[TensorEntry, ...]  # in the order of their data
    metadata: dict[str, str]
    header_bytes: int
    data_bytes: int  # the data region the offsets declare
    offsets: dict[str, tuple[int, int]]  # absolute byte ranges in the file, per key


def _bad(path: str, why: str) -> WeightsError:
    return WeightsError(f"refusing safetensors file {path}: {why}")


def _entry(path: str, key: str, raw: object, shard: str | None) -> tuple[TensorEntry, int, int]:
    if not isinstance(raw, dict):
        raise _bad(path, f"the entry for {key!r} is not an object")
    code, shape, offsets = raw.get("dtype"), raw.get("shape"), raw.get("data_offsets")
    if not isinstance(code, str) or code not in DTYPES:
        raise _bad(path, f"{key!r} has an unknown dtype {code!r}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise _bad(path, f"{key!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise _bad(path, f"{key!r} has invalid data_offsets {offsets!r}")
    name, bits = DTYPES[code]
    numel = math.prod(shape)
    nbytes = (numel * bits + 7) // 8
    begin, end = offsets
    if end - begin != nbytes:
        raise _bad(
            path,
            f"{key!r} declares {end - begin:,} bytes of data but its shape {shape} of {code} "
            f"takes {nbytes:,}",
        )
    return TensorEntry(key, tuple(shape), name, numel, nbytes, shard), begin, end


def read_header(path: str, *, shard: str | None = None) -> SafetensorsHeader:
    """Read and check ``path``'s header; never its data. Raises WeightsError."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise _bad(path, f"{size} bytes is too short for a header")
            length = int.from_bytes(head, "little")
            if length > MAX_HEADER_BYTES:
                raise _bad(path, f"its header claims {length:,} bytes (the limit is 100 MB)")
            if length > size - 8:
                raise _bad(
                    path, f"its header claims {length:,} bytes but the file has {size - 8:,} more"
                )
            raw = f.read(length)
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        header = parse_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, JsonTooComplex) as exc:
        raise _bad(path, f"its header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _bad(path, "its header is not a JSON object")
    metadata_raw = header.pop("__metadata__", None) or {}
    if not isinstance(metadata_raw, dict):
        raise _bad(path, "its __metadata__ is not an object")
    metadata = {str(k): str(v)[:200] for k, v in list(metadata_raw.items())[:100]}
    if len(header) > MAX_TENSORS:
        raise _bad(path, f"it declares {len(header):,} tensors (the limit is {MAX_TENSORS:,})")
    entries = [_entry(path, str(key), value, shard) for key, value in header.items()]
    entries.sort(key=lambda e: (e[1], e[2]))
    data_bytes = size - 8 - length
    previous_end, previous_key = 0, None
    for entry, begin, end in entries:
        if begin < previous_end:
            raise _bad(path, f"the data of {entry.key!r} overlaps that of {previous_key!r}")
        previous_end, previous_key = end, entry.key
    declared = entries[-1][2] if entries else 0
    if declared > data_bytes:
        raise _bad(
            path,
            f"its tensors declare {declared:,} bytes of data but the file holds {data_bytes:,} "
            "after the header (a truncated file?)",
        )
    start = 8 + length
    return SafetensorsHeader(
        tensors=tuple(e for e, _, _ in entries),
        metadata=metadata,
        header_bytes=length,
        data_bytes=declared,
        offsets={e.key: (start + b, start + end) for e, b, end in entries},
    )
