"""A checkpoint's tensors with their data, for ``--weights`` on a real device: a torch file
through ``torch.load(weights_only=True)``, a ``.safetensors`` through the safetensors package
when installed, else read here within the bounds its checked header declares."""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch

from netinspect.errors import WeightsError
from netinspect.sources.checkpoint.detect import checkpoint_kind, directory_weights
from netinspect.sources.checkpoint.nesting import unwrap_state
from netinspect.sources.checkpoint.safetensors_header import SafetensorsHeader, read_header

# safetensors dtype names (as the header reader gives them) -> torch dtypes that exist here.
_DTYPES = {
    name: getattr(torch, name)
    for name in ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16",
                 "int8", "uint8", "bool", "float8_e4m3fn", "float8_e5m2", "complex64",
                 "uint16", "uint32", "uint64")
    if isinstance(getattr(torch, name, None), torch.dtype)
}  # fmt: skip


def _safetensors_data(path: str) -> dict[str, torch.Tensor]:
    header = read_header(path)  # checked first: the package gets a file whose bounds hold
    try:
        from safetensors.torch import load_file
    except ImportError:
        pass
    else:
        try:
            return dict(load_file(path, device="cpu"))
        except Exception as exc:
            raise WeightsError(f"cannot read safetensors file {path}: {exc}") from None
    return _read_data(path, header)


def _read_data(path: str, header: SafetensorsHeader) -> dict[str, torch.Tensor]:
    """Each tensor's bytes at the offsets the checked header gives, nothing else."""
    out: dict[str, torch.Tensor] = {}
    with open(path, "rb") as f:
        for t in header.tensors:
            begin, end = header.offsets[t.key]
            dtype = _DTYPES.get(t.dtype)
            if dtype is None:
                raise WeightsError(f"{path}: dtype {t.dtype} of {t.key!r} is not in this torch")
            f.seek(begin)
            data = bytearray(f.read(end - begin))
            if len(data) != end - begin:
                raise WeightsError(f"{path}: the data of {t.key!r} is cut short")
            flat = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
            out[t.key] = flat.reshape(t.shape)
    return out


def _torch_data(path: str) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    from netinspect.sources.checkpoint.guard import check_checkpoint_file, load_failure

    is_zip = check_checkpoint_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state: Any = torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except RecursionError:
        raise WeightsError(f"refusing {path}: its objects are nested too deeply") from None
    except Exception as exc:
        raise WeightsError(f"cannot read weights file {path}: {load_failure(exc)}") from exc
    tensors, unwrapped, _ = unwrap_state(state, path)
    return tensors, unwrapped


def load_tensors(path: str) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """Every tensor of a checkpoint file, index or directory, with its data, on cpu."""
    kind = checkpoint_kind(path)
    if kind == "directory":
        inner = directory_weights(path)
        assert inner is not None
        return load_tensors(inner)
    if kind == "index":
        from netinspect.sources.checkpoint.read import read_checkpoint

        contents = read_checkpoint(path)  # the index checked: shards exist and hold their keys
        state: dict[str, torch.Tensor] = {}
        for shard in contents.files:
            shard_state, _ = load_tensors(os.path.join(os.path.dirname(path) or ".", shard))
            state.update(shard_state)
        return {t.key: state[t.key] for t in contents.tensors}, ()
    if path.lower().endswith(".safetensors"):
        return _safetensors_data(path), ()
    return _torch_data(path)
