"""Read a checkpoint's tensor names, shapes and dtypes without its data: a safetensors
header, a torch zip memory-mapped onto meta, a sharded index or a model directory."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netinspect.checkpoint_records import TensorEntry
from netinspect.errors import WeightsError
from netinspect.fileio import JsonTooComplex, parse_json
from netinspect.sources.checkpoint.detect import checkpoint_kind, directory_weights
from netinspect.sources.checkpoint.safetensors_header import read_header

if TYPE_CHECKING:
    import torch

MAX_INDEX_BYTES = 50_000_000
MAX_SHARDS = 10_000


@dataclass
class CheckpointContents:
    path: str
    format: str
    tensors: list[TensorEntry]
    unwrapped: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def natural_key(key: str) -> tuple[tuple[int, int | str], ...]:
    """``features.10`` after ``features.3``: digit runs compare as numbers."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", key) if p)


def tensor_entry(key: str, t: torch.Tensor, shard: str | None = None) -> TensorEntry:
    numel = t.numel()
    return TensorEntry(
        key=key,
        shape=tuple(int(d) for d in t.shape),
        dtype=str(t.dtype).removeprefix("torch."),
        numel=numel,
        nbytes=numel * t.element_size(),
        shard=shard,
    )


def load_torch_meta(path: str) -> tuple[dict[str, torch.Tensor], tuple[str, ...], dict[str, str]]:
    """``torch.load(weights_only=True)`` onto meta: a zip is memory-mapped, so no tensor data
    is read (a pickle that is not weights-only is refused by torch, never run)."""
    import torch

    from netinspect.sources.checkpoint.guard import check_checkpoint_file, load_failure
    from netinspect.sources.checkpoint.nesting import unwrap_state

    try:
        is_zip = check_checkpoint_file(path)
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc.strerror or exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's pickle-protocol chatter is not ours to show
            state: Any = torch.load(path, map_location="meta", weights_only=True, mmap=is_zip)
    except RecursionError:
        raise WeightsError(f"refusing {path}: its objects are nested too deeply") from None
    except Exception as exc:
        raise WeightsError(f"cannot read weights file {path}: {load_failure(exc)}") from exc
    return unwrap_state(state, path)


def _read_json(path: str, what: str) -> Any:
    try:
        if os.path.getsize(path) > MAX_INDEX_BYTES:
            raise WeightsError(f"refusing {what} {path}: larger than {MAX_INDEX_BYTES:,} bytes")
        with open(path, encoding="utf-8") as f:
            return parse_json(f.read())
    except OSError as exc:
        raise WeightsError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError, JsonTooComplex) as exc:
        raise WeightsError(f"cannot read {what} {path}: not valid JSON ({exc})") from None


def _read_file(path: str) -> CheckpointContents:
    if path.lower().endswith(".safetensors"):
        header = read_header(path)
        tensors = sorted(header.tensors, key=lambda t: natural_key(t.key))
        return CheckpointContents(path, "safetensors", tensors, metadata=header.metadata)
    state, unwrapped, metadata = load_torch_meta(path)
    tensors = [tensor_entry(k, v) for k, v in state.items()]
    fmt = "torch zip" if _is_zip(path) else "torch legacy"
    return CheckpointContents(path, fmt, tensors, unwrapped, metadata=metadata)


def _is_zip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _shard_path(index: str, name: object) -> str:
    """A shard named by an index: a plain file name in the index's own directory."""
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
    ):
        raise WeightsError(
            f"refusing index {index}: shard {name!r} is not a file name in the index's directory"
        )
    path = os.path.join(os.path.dirname(index) or ".", name)
    if not os.path.isfile(path):
        raise WeightsError(f"index {index} names shard {name}, which is missing")
    return path


def _read_index(path: str) -> CheckpointContents:
    raw = _read_json(path, "index")
    weight_map = raw.get("weight_map") if isinstance(raw, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise WeightsError(f"refusing index {path}: no weight_map of tensor names to shard files")
    shards = sorted(set(map(str, weight_map.values())), key=natural_key)
    if len(shards) > MAX_SHARDS:
        raise WeightsError(f"refusing index {path}: {len(shards):,} shards")
    held: dict[str, dict[str, TensorEntry]] = {}
    for name in shards:
        shard = _shard_path(path, name)
        if name.lower().endswith(".safetensors"):
            entries = read_header(shard, shard=name).tensors
        else:
            state, _, _ = load_torch_meta(shard)
            entries = tuple(tensor_entry(k, v, name) for k, v in state.items())
        held[name] = {t.key: t for t in entries}
    tensors: list[TensorEntry] = []
    for key, name in weight_map.items():
        entry = held[str(name)].get(str(key))
        if entry is None:
            raise WeightsError(f"refusing index {path}: it maps {key!r} to {name}, which lacks it")
        tensors.append(entry)
    notes = []
    listed = set(map(str, weight_map))
    extra = sum(1 for entries in held.values() for k in entries if k not in listed)
    if extra:
        notes.append(f"{extra} tensors in the shards are not in the index's weight_map")
    metadata = raw.get("metadata")
    meta = {str(k): str(v)[:200] for k, v in metadata.items()} if isinstance(metadata, dict) else {}
    fmt = "safetensors index" if all(s.endswith(".safetensors") for s in shards) else "torch index"
    tensors.sort(key=lambda t: natural_key(t.key))
    return CheckpointContents(path, fmt, tensors, files=tuple(shards), metadata=meta, notes=notes)


def _read_directory(path: str) -> CheckpointContents:
    weights = directory_weights(path)
    assert weights is not None
    inner = _read_index(weights) if weights.endswith(".json") else _read_file(weights)
    config: dict[str, str] = {}
    config_path = os.path.join(path, "config.json")
    if os.path.isfile(config_path):
        raw = _read_json(config_path, "config")
        if isinstance(raw, dict):
            if isinstance(raw.get("model_type"), str):
                config["model_type"] = raw["model_type"]
            architectures = raw.get("architectures")
            if isinstance(architectures, list) and architectures:
                config["architectures"] = ", ".join(map(str, architectures[:4]))
    files = inner.files or (os.path.basename(weights),)
    return CheckpointContents(
        path,
        f"model directory ({inner.format})",
        inner.tensors,
        inner.unwrapped,
        files=files,
        metadata=inner.metadata,
        config=config,
        notes=inner.notes,
    )


def read_checkpoint(path: str) -> CheckpointContents:
    """What ``path`` holds, without its data. Raises WeightsError (exit 2)."""
    kind = checkpoint_kind(path)
    if kind is None:
        raise WeightsError(f"{path} is not a checkpoint file, index or model directory")
    if kind == "directory":
        return _read_directory(path)
    if kind == "index":
        return _read_index(path)
    if not os.path.isfile(path):
        raise WeightsError(f"{path} is not a regular file")
    return _read_file(path)
