"""``hf:...``: a Hugging Face transformers model from its configuration, never its weights.

    hf:MODEL_TYPE     hf:bert, hf:llama: ``AutoConfig.for_model(MODEL_TYPE)``, the defaults;
                      a sub-model type no auto class maps (hf:blip_vision_model) builds the
                      class its own modeling module defines for that config
    hf:PATH           a local directory holding config.json, or a config.json file
    hf:ORG/NAME       the config from the local Hugging Face cache; never a download

Options follow the name (see ``sources.extras``): ``task=`` picks the head class
(``hf:llama,task=causal-lm``), every other key overrides the config
(``hf:llama,num_hidden_layers=2``; nested ones dotted: ``text_config.num_hidden_layers=2``).

The default input comes from the config and the model's ``main_input_name``: token ids
(``input_ids`` 1x128 int64 and an all-ones ``attention_mask``), ``pixel_values`` at the
config's image size, ``input_features`` (speech), ``input_values`` (raw audio), plus
``decoder_input_ids`` for encoder-decoders. transformers is imported only for ``hf:``
targets (the ``[hf]`` extra).
"""

from __future__ import annotations

import difflib
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from netinspect.errors import ModelNotFound, UsageError, describe_exception, exception_text
from netinspect.sources.extras import require_extra, split_options
from netinspect.sources.hf_inputs import default_inputs
from netinspect.sources.target import ModelTarget

PREFIX = "hf:"

# task -> the transformers auto class whose mapping picks the head for a config.
TASKS: dict[str, str] = {
    "base": "AutoModel",
    "causal-lm": "AutoModelForCausalLM",
    "masked-lm": "AutoModelForMaskedLM",
    "seq2seq-lm": "AutoModelForSeq2SeqLM",
    "seq-cls": "AutoModelForSequenceClassification",
    "token-cls": "AutoModelForTokenClassification",
    "qa": "AutoModelForQuestionAnswering",
    "pretraining": "AutoModelForPreTraining",
    "image-cls": "AutoModelForImageClassification",
    "object-detection": "AutoModelForObjectDetection",
    "semantic-seg": "AutoModelForSemanticSegmentation",
    "speech-seq2seq": "AutoModelForSpeechSeq2Seq",
    "ctc": "AutoModelForCTC",
    "audio-cls": "AutoModelForAudioClassification",
    "image-text-to-text": "AutoModelForImageTextToText",
}


def list_model_types() -> list[str]:
    require_extra("transformers", "hf", "netinspect list hf")
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    return sorted(CONFIG_MAPPING.keys())


def _exists(path: Path) -> bool:
    """``path.exists()``, False for a name the system cannot look up (longer than a file name
    may be: a model type with many options is no path)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _split_target(text: str) -> tuple[str, dict[str, Any]]:
    """A path that exists is taken whole (it may contain commas); otherwise options follow."""
    if _exists(Path(text)):
        return text, {}
    return split_options(text, prefix="hf", dotted=True)


def _nested_update(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(raw))  # a deep copy of plain JSON data
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[leaf] = value
    return out


def _settable_properties(config_cls: Any) -> set[str]:
    """Settings kept under another form: ``num_labels`` (a property that writes ``id2label``)."""
    return {
        name
        for klass in config_cls.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, property) and value.fset is not None and not name.startswith("_")
    }


def _check_setting(owner: str, key: str, known: set[str]) -> None:
    if key not in known:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"{owner} has no setting {key!r}{hint}")


def _construct(config_cls: Any, values: dict[str, Any], full: str) -> Any:
    """``config_cls(**values)``, through the constructor so that derived values (head_dim from
    hidden_size) follow; a config transformers refuses is the user's error, in one line."""
    try:
        with _quiet_transformers():
            return config_cls(**values)
    except Exception as exc:
        raise UsageError(f"{full}: invalid config: {describe_exception(exc)}") from exc


def _check_override_keys(
    config_cls: Any, raw: dict[str, Any], overrides: dict[str, Any], full: str
) -> dict[str, Any]:
    """A misspelt key would be stored silently by transformers and change nothing: refuse it.
    Returns the overrides with aliases (GPT-2's ``num_hidden_layers`` for ``n_layer``, from the
    config's ``attribute_map``) under the name the config stores, so they replace its value."""
    defaults = _construct(config_cls, {k: v for k, v in raw.items() if k != "model_type"}, full)
    aliases: dict[str, str] = dict(getattr(config_cls, "attribute_map", None) or {})
    known = set(defaults.to_dict()) | set(aliases) | _settable_properties(config_cls)
    renamed: dict[str, Any] = {}
    for key, value in overrides.items():
        top, dot, rest = key.partition(".")
        _check_setting(config_cls.__name__, top, known)
        inner: Any = getattr(defaults, aliases.get(top, top), None)
        if rest and hasattr(inner, "to_dict"):  # a sub-config: text_config.num_hidden_layers
            inner_known = set(inner.to_dict()) | set(getattr(inner, "attribute_map", None) or {})
            _check_setting(f"{config_cls.__name__}.{top}", rest.partition(".")[0], inner_known)
        renamed[aliases.get(top, top) + dot + rest] = value
    return renamed


def _raw_config(name: str, full: str) -> tuple[str, dict[str, Any]]:
    """(model_type, the config's own JSON values) for a path, a cached ORG/NAME or a type."""
    from transformers import PretrainedConfig

    path = Path(name)
    if path.suffix == ".json" or _exists(path):
        file = path / "config.json" if _exists(path) and path.is_dir() else path
        if not (_exists(file) and file.is_file()):
            raise UsageError(f"{full}: no config.json in {name}")
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{full}: cannot read {file}: {describe_exception(exc)}") from None
    elif "/" in name:
        try:
            raw, _ = PretrainedConfig.get_config_dict(name, local_files_only=True)
        except OSError:
            raise UsageError(
                f"{full}: {name} is not in the local Hugging Face cache, and netinspect never "
                f"downloads; pass a local directory (hf:path/to/model) or a model type "
                f"(hf:llama)"
            ) from None
    else:
        return name, {}
    if not isinstance(raw, dict) or not isinstance(raw.get("model_type"), str):
        raise UsageError(f"{full}: the config has no model_type, so no model class is known")
    if raw.get("auto_map"):
        raise UsageError(
            f"{full}: this config needs the repository's own code (auto_map); netinspect does "
            "not run remote code: inspect the class with file.py:Class instead"
        )
    return str(raw["model_type"]), raw


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers logs and warns about configs (an eos id past a shrunk vocabulary) and
    weights it initialises; none of it is about shapes."""
    logger = logging.getLogger("transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _config(name: str, overrides: dict[str, Any], full: str) -> Any:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    model_type, raw = _raw_config(name, full)
    known = list(CONFIG_MAPPING.keys())
    if model_type not in known:
        suggestions = [PREFIX + s for s in difflib.get_close_matches(model_type, known, n=3)]
        listing = "" if suggestions else " (netinspect list hf lists them)"
        raise ModelNotFound(
            full, suggestions, f"unknown Hugging Face model type {model_type!r}{listing}"
        )
    config_cls = CONFIG_MAPPING[model_type]
    values = _nested_update(raw, _check_override_keys(config_cls, raw, overrides, full))
    values.pop("model_type", None)
    return _construct(config_cls, values, full)


def _one_class(config: Any, found: Any) -> Any:
    """A mapping may offer several classes for one config (funnel: the model and its base
    model): the one the config's ``architectures`` names, else the first, as transformers
    picks."""
    if not isinstance(found, (list, tuple)):
        return found
    named = set(getattr(config, "architectures", None) or ())
    return next((c for c in found if c.__name__ in named), found[0])


def _own_model_class(config: Any) -> Any:
    """For a config no auto class maps (a sub-model type such as ``align_text_model``): the
    model class its own modeling module defines for exactly that config class, preferring
    ``<Name>Model`` and never a head (``...For...``)."""
    import importlib

    from torch import nn
    from transformers import PreTrainedModel

    config_cls = type(config)
    module_name = config_cls.__module__.replace(".configuration_", ".modeling_")
    try:
        module = importlib.import_module(module_name)
    except Exception:  # no modeling module, or one needing a missing backend
        return None
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, PreTrainedModel)
        and value.__dict__.get("config_class") is config_cls
        and "For" not in value.__name__
        and value.forward is not nn.Module.forward  # a base class, or encode/decode only
    ]
    base = config_cls.__name__.removesuffix("Config")
    found.sort(key=lambda c: (c.__name__ != f"{base}Model", c.__name__))
    return found[0] if found else None


def _usable(model_cls: Any, full: str) -> Any:
    """transformers stands in a dummy for a class whose backend is missing (torchaudio); it
    raises ImportError on first use, which is the user's to fix, in one line."""
    try:
        _ = model_cls.forward
    except ImportError as exc:
        reason = " ".join(exception_text(exc).split())
        raise UsageError(f"{full}: {reason or type(exc).__name__}") from None
    return model_cls


def _head_class(config: Any, task: str, full: str) -> Any:
    """The model class for the config and task: the auto class's choice, else (for the base
    task) the config's own model class."""
    import transformers

    def mapped(auto_name: str) -> Any:
        auto_cls = getattr(transformers, auto_name, None)
        mapping = getattr(auto_cls, "_model_mapping", None)
        if mapping is None:
            return None
        try:
            return _one_class(config, mapping[type(config)])
        except (KeyError, ValueError):
            return None

    if task not in TASKS:
        close = difflib.get_close_matches(task, list(TASKS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown task {task!r}{hint}; choose from {', '.join(TASKS)}")
    model_cls = mapped(TASKS[task])
    if model_cls is None and task == "base":
        model_cls = _own_model_class(config)
    if model_cls is not None:
        return _usable(model_cls, full)
    offered = [t for t, auto_name in TASKS.items() if mapped(auto_name) is not None]
    raise UsageError(
        f"{full}: {config.model_type} has no {task} head in transformers"
        + (f" (it has: {', '.join(offered)})" if offered else "")
    )


def _check_torch_supported(transformers: Any, full: str) -> None:
    """transformers turns its PyTorch models off on a torch it does not support (5.x: below
    2.6); every model class then looks missing, so say the real cause, in one line."""
    is_available = getattr(getattr(transformers, "utils", None), "is_torch_available", None)
    if is_available is None or is_available():
        return
    import torch

    needs = " (transformers 5 needs torch >= 2.6)" if transformers.__version__[:2] == "5." else ""
    raise UsageError(
        f"{full}: transformers {transformers.__version__} does not support torch "
        f"{torch.__version__}{needs}: upgrade torch to use hf: models"
    )


# Settings that are None by design in many configs: not what a build failure is about.
_NONE_BY_DESIGN = ("architectures", "dtype", "torch_dtype", "problem_type", "vocab_list")


def unset_settings(config: Any) -> list[str]:
    """The config's settings (and those one table down, ``rope_scaling.factor``) that are
    None, leaving out ones that are None by design (token ids, sub-configs, ``dtype``)."""
    try:
        data = config.to_dict()
    except Exception:
        return []
    found: list[str] = []
    for key, value in data.items():
        items = value.items() if isinstance(value, dict) else [("", value)]
        for sub, item in items:
            name = f"{key}.{sub}" if sub else key
            last = sub or key
            if item is None and not (
                last in _NONE_BY_DESIGN or last.endswith(("_token_id", "_config"))
            ):
                found.append(name)
    return found


def hf_target(text: str) -> ModelTarget:
    """``text`` is what follows ``hf:``."""
    full = PREFIX + text
    name, options = _split_target(text)
    if not name:
        raise ModelNotFound(full, detail="hf: needs a model type, a path or ORG/NAME (hf:bert)")
    task = str(options.pop("task", "base"))
    transformers = require_extra("transformers", "hf", full)
    _check_torch_supported(transformers, full)
    config = _config(name, options, full)
    model_cls = _head_class(config, task, full)

    def factory() -> Any:
        # The class's own ``_from_config``, which the auto classes call once they have picked
        # it (they would pick again, and for a config without ``architectures`` that fails).
        try:
            with _quiet_transformers():
                return getattr(model_cls, "_from_config", model_cls)(config)
        except Exception as exc:
            unset = unset_settings(config)
            if not unset or "None" not in exception_text(exc):
                raise
            raise UsageError(
                f"building {full} failed: {describe_exception(exc)}; the config leaves "
                f"{', '.join(unset[:5])} None (set it: {full},{unset[0]}=...)"
            ) from exc

    return ModelTarget(
        name=full,
        source="hf",
        factory=factory,
        default_inputs=default_inputs(config, model_cls),
        family=task,
    )
