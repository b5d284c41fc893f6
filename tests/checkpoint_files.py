"""Small checkpoints made in the tests (never downloaded): state dicts saved on meta (names,
shapes and dtypes; no data) or real, and safetensors files written header-first with their
data region left sparse (``truncate``), so a declared 140 GB takes no disk."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

ST_CODES = {torch.float32: ("F32", 4), torch.bfloat16: ("BF16", 2), torch.float16: ("F16", 2),
            torch.int64: ("I64", 8)}  # fmt: skip


def meta_state(name: str, **kwargs: object) -> dict[str, torch.Tensor]:
    """A torchvision model's state dict on meta (shapes only)."""
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    return dict(model.state_dict())


def write_safetensors_header(
    path: Path,
    tensors: Sequence[tuple[str, Sequence[int], torch.dtype]],
    metadata: Mapping[str, str] | None = None,
) -> int:
    """A safetensors file whose data region is sparse: returns the declared data bytes."""
    header: dict[str, object] = {}
    offset = 0
    for key, shape, dtype in tensors:
        code, size = ST_CODES[dtype]
        nbytes = math.prod(shape) * size
        header[key] = {
            "dtype": code,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    if metadata:
        header["__metadata__"] = dict(metadata)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.truncate(8 + len(raw) + offset)
    return offset


def write_raw_header(path: Path, header: object, data_bytes: int = 0) -> None:
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.truncate(8 + len(raw) + data_bytes)


def state_as_safetensors(path: Path, state: Mapping[str, torch.Tensor]) -> None:
    write_safetensors_header(path, [(k, tuple(v.shape), v.dtype) for k, v in state.items()])


def llm_shards(
    directory: Path, *, layers: int = 80, hidden: int = 8192, shards: int = 4
) -> tuple[Path, int]:
    """A sharded safetensors index of a 70B-class decoder (bf16): its header only, the data
    region sparse. Returns the index's path and the declared bytes."""
    inter = hidden * 3 + 4096
    vocab = 128_256
    tensors: list[tuple[str, tuple[int, ...], torch.dtype]] = [
        ("model.embed_tokens.weight", (vocab, hidden), torch.bfloat16)
    ]
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors += [
            (p + "input_layernorm.weight", (hidden,), torch.bfloat16),
            (p + "self_attn.q_proj.weight", (hidden, hidden), torch.bfloat16),
            (p + "self_attn.k_proj.weight", (1024, hidden), torch.bfloat16),
            (p + "self_attn.v_proj.weight", (1024, hidden), torch.bfloat16),
            (p + "self_attn.o_proj.weight", (hidden, hidden), torch.bfloat16),
            (p + "post_attention_layernorm.weight", (hidden,), torch.bfloat16),
            (p + "mlp.gate_proj.weight", (inter, hidden), torch.bfloat16),
            (p + "mlp.up_proj.weight", (inter, hidden), torch.bfloat16),
            (p + "mlp.down_proj.weight", (hidden, inter), torch.bfloat16),
        ]
    tensors += [("model.norm.weight", (hidden,), torch.bfloat16),
                ("lm_head.weight", (vocab, hidden), torch.bfloat16)]  # fmt: skip
    per = math.ceil(len(tensors) / shards)
    weight_map: dict[str, str] = {}
    total = 0
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = tensors[s * per : (s + 1) * per]
        total += write_safetensors_header(directory / name, part)
        weight_map.update({key: name for key, _, _ in part})
    index = directory / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return index, total
