"""Default inputs of a Hugging Face model, from its config: token ids (and a mask), pixel
values at the config's image size, audio features, decoder ids."""

from __future__ import annotations

import inspect
from typing import Any

# Token sequences: 128 tokens, fewer when the model's positions end earlier.
DEFAULT_TOKENS = 128
# Raw audio: one second at 16 kHz.
DEFAULT_AUDIO_SAMPLES = 16000
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "n_ctx")


def _sub(config: Any, key: str) -> Any:
    """``key`` on the config, or on its vision/text/audio sub-config (CLIP, LLaVA)."""
    value = getattr(config, key, None)
    if value is not None:
        return value
    for sub in ("vision_config", "text_config", "audio_config", "encoder"):
        inner = getattr(config, sub, None)
        if inner is not None and getattr(inner, key, None) is not None:
            return getattr(inner, key)
    return None


def _token_count(config: Any) -> int:
    limits = [v for k in _POSITION_KEYS if isinstance(v := _sub(config, k), int) and v > 0]
    return min([DEFAULT_TOKENS, *limits])


def _image_size(config: Any) -> tuple[int, int]:
    size = _sub(config, "image_size")
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    if isinstance(size, dict):  # {"height": ..., "width": ...}
        return int(size.get("height", 224)), int(size.get("width", 224))
    return (int(size), int(size)) if isinstance(size, int) else (224, 224)


def default_inputs(config: Any, model_cls: Any) -> tuple[str, ...] | None:
    """Keyword input specs for ``model_cls.forward``, from the config."""
    try:
        params = set(inspect.signature(model_cls.forward).parameters)
    except (TypeError, ValueError):
        params = set()
    main = getattr(model_cls, "main_input_name", "input_ids")
    tokens = _token_count(config)
    specs: list[str] = []
    if main == "input_ids" or ("input_ids" in params and main != "input_ids"):
        specs.append(f"input_ids=1x{tokens}:int64")
        if "attention_mask" in params:
            specs.append(f"attention_mask=1x{tokens}:int64:ones")
    if main == "pixel_values" or ("pixel_values" in params and _sub(config, "image_size")):
        channels = _sub(config, "num_channels") or 3
        height, width = _image_size(config)
        specs.append(f"pixel_values=1x{channels}x{height}x{width}")
    if main == "input_features":
        mels, frames = _sub(config, "num_mel_bins"), _sub(config, "max_source_positions")
        if not (isinstance(mels, int) and isinstance(frames, int)):
            return None
        # Whisper's encoder halves the frames with a stride-2 conv: 2 x its positions.
        specs.append(f"input_features=1x{mels}x{2 * frames}")
    if main == "input_values":
        specs.append(f"input_values=1x{DEFAULT_AUDIO_SAMPLES}")
    if getattr(config, "is_encoder_decoder", False) and "decoder_input_ids" in params:
        decoder_tokens = min(tokens, _sub(config, "max_target_positions") or tokens)
        specs.append(f"decoder_input_ids=1x{decoder_tokens}:int64")
    return tuple(specs) or None
