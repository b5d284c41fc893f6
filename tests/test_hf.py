"""``hf:`` targets: model types, local configs, the local cache, tasks, overrides, default
inputs from the config, and what the device policy does with them. Configs are tiny (one
layer, hidden size 32-64), so each test runs in about a second on meta."""

from __future__ import annotations

import json
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import ForwardFailed, ModelNotFound, UsageError
from netinspect.pipeline.run import inspect_model
from netinspect.sources.resolve import resolve_target

transformers = pytest.importorskip("transformers")
if not transformers.utils.is_torch_available():
    # transformers 5 turns its PyTorch models off below torch 2.6: hf: then refuses in one
    # line (tests/test_torch_versions.py checks that message), and there is nothing to run.
    pytest.skip(
        f"transformers {transformers.__version__} does not support torch on this floor "
        "(transformers 5 needs torch >= 2.6)",
        allow_module_level=True,
    )

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent

BERT = ",".join(
    [
        "hf:bert",
        "num_hidden_layers=1",
        "hidden_size=32",
        "num_attention_heads=2",
        "intermediate_size=64",
        "vocab_size=100",
        "max_position_embeddings=64",
    ]
)
GPT2 = "hf:gpt2,n_layer=1,n_embd=32,n_head=2,vocab_size=100,n_positions=64,task=causal-lm"
LLAMA = ",".join(
    [
        "hf:llama",
        "num_hidden_layers=1",
        "hidden_size=64",
        "intermediate_size=128",
        "num_attention_heads=4",
        "num_key_value_heads=2",
    ]
)
MIXTRAL = ",".join(
    [
        "hf:mixtral",
        "num_hidden_layers=1",
        "hidden_size=64",
        "intermediate_size=128",
        "num_attention_heads=4",
        "num_key_value_heads=2",
        "vocab_size=100",
    ]
)
LLAMA_CONFIG = {
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 100,
}


def input_specs(target: str) -> tuple[str, ...]:
    defaults = resolve_target(target).default_inputs
    assert defaults is not None
    return defaults


# --- hf:MODEL_TYPE with overrides --------------------------------------------------------------
def test_bert_default_inputs_and_params_by_hand() -> None:
    assert input_specs(BERT) == ("input_ids=1x64:int64", "attention_mask=1x64:int64:ones")
    report = inspect_model(BERT)
    assert report.model.source == "hf" and report.model.class_name == "BertModel"
    assert [(i.name, i.shape, i.dtype) for i in report.inputs] == [
        ("input_ids", (1, 64), "int64"),
        ("attention_mask", (1, 64), "int64"),
    ]
    h, i, vocab, positions = 32, 64, 100, 64
    embeddings = vocab * h + positions * h + 2 * h + 2 * h  # words, positions, types, LayerNorm
    layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
    pooler = h * h + h
    assert report.totals.params == embeddings + layer + pooler == 14_976
    assert dict(zip(report.output_names, report.outputs, strict=True)) == {
        "last_hidden_state": (1, 64, 32),
        "pooler_output": (1, 32),
    }


def test_gpt2_causal_lm_head_ties_and_names_its_cache() -> None:
    report = inspect_model(GPT2)
    assert report.model.class_name == "GPT2LMHeadModel"
    h, vocab, positions = 32, 100, 64
    block = (
        2 * h + (h * 3 * h + 3 * h) + (h * h + h) + 2 * h + (h * 4 * h + 4 * h) + (4 * h * h + h)
    )
    # The LM head is tied to the token embedding: counted once.
    assert report.totals.params == vocab * h + positions * h + block + 2 * h == 18_016
    assert report.outputs == ((1, 64, 100),) and report.output_names == ("logits",)
    # transformers 5 names the key/value cache "cache" in the output.
    assert report.notes[-1] == (
        "the output also holds values that are not tensors (not in outputs): cache (DynamicCache)"
    )


def test_llama_with_a_mask_runs_with_real_inputs_and_counts_flops_by_hand() -> None:
    report = inspect_model(LLAMA)
    assert report.device == "meta"
    assert report.notes[0].startswith("meta cannot run `Tensor.item()`/`bool(tensor)` at ")
    assert report.notes[0].endswith("ran with real inputs on cpu and the weights on meta")
    tokens, h, i, heads, kv_heads, head_dim = 128, 64, 128, 4, 2, 16
    projections = 2 * tokens * h * (heads * head_dim + 2 * kv_heads * head_dim + h)
    mlp = 2 * tokens * h * i * 3  # gate, up, down
    attention = 2 * (2 * heads * tokens * tokens * head_dim)  # scores and weighted sum
    assert report.totals.matmul_flops == projections + mlp + attention == 13_631_488


def test_mixtral_experts_grouped_mm_is_counted_by_hand() -> None:
    report = inspect_model(MIXTRAL)
    grouped = [r for r in report.layers if r.name.endswith("experts._grouped_mm")]
    tokens, top_k, h, i = 128, 2, 64, 128
    rows = tokens * top_k  # every token goes to its 2 experts
    assert [r.flops for r in grouped] == [2 * rows * h * (2 * i), 2 * rows * i * h]
    assert "`torch._grouped_mm`" in report.notes[0] and "ran in bfloat16" in report.notes[0]
    assert report.outputs == ((1, 128, 64),)


def test_t5_gets_decoder_input_ids() -> None:
    target = ",".join(
        [
            "hf:t5",
            "num_layers=1",
            "num_decoder_layers=1",
            "d_model=32",
            "d_kv=8",
            "d_ff=64",
            "num_heads=4",
            "vocab_size=100",
        ]
    )
    assert input_specs(target) == (
        "input_ids=1x128:int64",
        "attention_mask=1x128:int64:ones",
        "decoder_input_ids=1x128:int64",
    )
    report = inspect_model(target)
    assert report.outputs[0] == (1, 128, 32)


def test_vit_image_classification_uses_the_config_image_size() -> None:
    target = ",".join(
        [
            "hf:vit",
            "task=image-cls",
            "image_size=32",
            "patch_size=8",
            "hidden_size=32",
            "num_hidden_layers=1",
            "num_attention_heads=2",
            "intermediate_size=64",
        ]
    )
    assert input_specs(target) == ("pixel_values=1x3x32x32",)
    report = inspect_model(target)
    assert report.model.class_name == "ViTForImageClassification"
    assert report.outputs == ((1, 2),)  # num_labels defaults to 2


def test_whisper_gets_input_features_and_decoder_ids() -> None:
    target = ",".join(
        [
            "hf:whisper",
            "d_model=32",
            "encoder_layers=1",
            "decoder_layers=1",
            "encoder_attention_heads=2",
            "decoder_attention_heads=2",
            "encoder_ffn_dim=64",
            "decoder_ffn_dim=64",
            "num_mel_bins=8",
            "max_source_positions=16",
            "max_target_positions=16",
        ]
    )
    # The encoder's stride-2 conv halves 2 x 16 frames to its 16 positions.
    assert input_specs(target) == ("input_features=1x8x32", "decoder_input_ids=1x16:int64")
    assert inspect_model(target).outputs[0] == (1, 16, 32)


def test_aliases_and_num_labels_are_settings(tmp_path: Path) -> None:
    # GPT-2 stores n_layer, n_embd...; its attribute_map accepts the common names too.
    aliased = ",".join(
        [
            "hf:gpt2",
            "num_hidden_layers=1",
            "hidden_size=32",
            "num_attention_heads=2",
            "vocab_size=100",
            "max_position_embeddings=64",
            "task=causal-lm",
        ]
    )
    assert inspect_model(aliased).totals.params == inspect_model(GPT2).totals.params == 18_016
    # An alias replaces the stored value of a config file (n_layer 3 -> 1), not sits beside it.
    config = {"model_type": "gpt2", "n_layer": 3, "n_embd": 32, "n_head": 2, "vocab_size": 100}
    (tmp_path / "config.json").write_text(json.dumps({**config, "n_positions": 64}))
    from_file = inspect_model(f"hf:{tmp_path},num_hidden_layers=1,task=causal-lm")
    assert from_file.totals.params == 18_016
    # num_labels is a property (it writes id2label), not a key of the config's dict.
    classifier = inspect_model(f"{BERT},task=seq-cls,num_labels=3")
    assert classifier.model.class_name == "BertForSequenceClassification"
    assert classifier.outputs == ((1, 3),)


def test_nested_settings_are_dotted() -> None:
    import torch
    from transformers import CLIPConfig, CLIPModel

    text = {"num_hidden_layers": 1, "hidden_size": 32, "intermediate_size": 64}
    vision = {**text, "image_size": 32, "patch_size": 8}
    heads = {"num_attention_heads": 2}
    options = [f"text_config.{k}={v}" for k, v in {**text, **heads, "vocab_size": 100}.items()]
    options += [f"vision_config.{k}={v}" for k, v in {**vision, **heads}.items()]
    report = inspect_model(",".join(["hf:clip", "projection_dim=16", *options]))
    # An independent count: transformers' own model from the same nested settings, on meta.
    config = CLIPConfig(
        projection_dim=16,
        text_config={**text, **heads, "vocab_size": 100},
        vision_config={**vision, **heads},
    )
    with torch.device("meta"):
        expected = sum(p.numel() for p in CLIPModel(config).parameters())
    assert report.totals.params == expected
    assert [i.shape for i in report.inputs][-1] == (1, 3, 32, 32)
    with pytest.raises(
        UsageError, match=r"CLIPConfig.text_config has no setting 'num_hiden_layers'"
    ):
        resolve_target("hf:clip,text_config.num_hiden_layers=1")


# --- hf:PATH and hf:ORG/NAME -------------------------------------------------------------------
def test_a_local_directory_or_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    by_dir = inspect_model(f"hf:{tmp_path}")
    by_file = inspect_model(f"hf:{tmp_path / 'config.json'}")
    assert by_dir.totals.params == by_file.totals.params
    h, i, vocab = 64, 128, 100
    attention = h * h + 2 * h * 32 + h * h  # q, k and v for 2 kv heads of 16, o
    assert by_dir.totals.params == vocab * h + attention + 3 * h * i + 2 * h + h


def test_missing_config_and_no_model_type_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no config\.json"):
        resolve_target(f"hf:{tmp_path}")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UsageError, match="no model_type"):
        resolve_target(f"hf:{tmp_path}")


def test_org_name_comes_from_the_local_cache_or_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    snapshot = tmp_path / "models--acme--tiny-llama" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    (tmp_path / "models--acme--tiny-llama" / "refs").mkdir()
    (tmp_path / "models--acme--tiny-llama" / "refs" / "main").write_text("abc123")
    # Where HF_HUB_CACHE points (read when huggingface_hub is imported).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    found = runner.invoke(app, ["inspect", "hf:acme/tiny-llama", "-f", "json"])
    assert found.exit_code == 0, found.stderr
    h, i, vocab = 64, 128, 100
    expected = vocab * h + (h * h + 2 * h * 32 + h * h) + 3 * h * i + 3 * h
    assert json.loads(found.stdout)["totals"]["params"] == expected
    missing = runner.invoke(app, ["inspect", "hf:acme/other-model"])
    assert missing.exit_code == 2
    assert missing.stderr.strip() == (
        "netinspect: error: hf:acme/other-model: acme/other-model is not in the local Hugging "
        "Face cache, and netinspect never downloads; pass a local directory (hf:path/to/model) "
        "or a model type (hf:llama)"
    )


# --- usage errors ----------------------------------------------------------------------------
def test_unknown_type_task_head_and_setting_are_one_line_errors() -> None:
    with pytest.raises(ModelNotFound, match=r"did you mean hf:llama"):
        resolve_target("hf:lama")
    with pytest.raises(UsageError, match=r"unknown task 'causal' \(did you mean causal-lm\?\)"):
        resolve_target("hf:llama,task=causal")
    with pytest.raises(UsageError, match=r"llama has no seq2seq-lm head .*causal-lm"):
        resolve_target("hf:llama,task=seq2seq-lm")
    with pytest.raises(
        UsageError, match=r"no setting 'num_hiden_layers' \(did you mean num_hidden_layers\?\)"
    ):
        resolve_target("hf:llama,num_hiden_layers=1")
    with pytest.raises(UsageError, match="malformed option 'num_hidden_layers'"):
        resolve_target("hf:llama,num_hidden_layers")
    # Longer than a file name may be: looked up as a path, it raised OSError (exit 4).
    with pytest.raises(UsageError, match="no setting 'xxx"):
        resolve_target("hf:llama,num_hidden_layers=1," + "x" * 300 + "=1")
    with pytest.raises(ModelNotFound, match="unknown Hugging Face model type 'xxx"):
        resolve_target("hf:" + "x" * 300)


def test_float_token_ids_get_the_int64_fix_named() -> None:
    # Given as float explicitly: a forward failure whose hint names the fix.
    result = runner.invoke(app, ["inspect", BERT, "--input", "input_ids=1x16:float32"])
    assert result.exit_code == 3
    assert (
        "Embedding embeddings.word_embeddings looks up token ids, which are integers, but got "
        "a float32 input [1,16]"
    ) in result.stderr
    with pytest.raises(ForwardFailed) as info:
        inspect_model(BERT, ["input_ids=1x16:float32"])
    error = info.value.report.error
    assert error is not None
    assert error.hint == (
        "give the input an integer dtype: --input input_ids=1x16:int64 (or .long() on a tensor)"
    )
    # ... and the fix works.
    assert inspect_model(BERT, ["input_ids=1x16:int64"]).outputs[0] == (1, 16, 32)
    # Without a dtype the dummy ids are made int64, and a note says so.
    report = inspect_model(BERT, ["input_ids=1x16"])
    assert report.inputs[0].dtype == "int64" and report.outputs[0] == (1, 16, 32)
    assert any("made int64" in note for note in report.notes)


# --- model classes transformers' auto classes do not pick ------------------------------------
def _meta_params(model_cls: type, config: object) -> int:
    import torch

    with torch.device("meta"):
        model = model_cls._from_config(config)  # type: ignore[attr-defined]
    return sum(p.numel() for p in model.parameters())  # parameters() yields each once


def test_a_mapping_that_offers_two_classes_builds_the_first() -> None:
    # AutoModel maps FunnelConfig to (FunnelModel, FunnelBaseModel), and its own from_config
    # fails on a config without `architectures`; netinspect picks as transformers documents.
    from transformers import FunnelConfig, FunnelModel

    spec = "hf:funnel,d_model=32,n_head=2,d_head=16,d_inner=64,vocab_size=100"
    report = inspect_model(spec, ["input_ids=1x16:int64"])
    assert report.model.class_name == "FunnelModel"
    config = FunnelConfig(d_model=32, n_head=2, d_head=16, d_inner=64, vocab_size=100)
    assert report.totals.params == _meta_params(FunnelModel, config)
    assert report.outputs[0] == (1, 16, 32)


def test_a_sub_model_type_builds_its_own_model_class() -> None:
    # blip_vision_model has no AutoModel entry ("no base head"): its modeling module's
    # BlipVisionModel is the class made for exactly that config.
    from transformers import BlipVisionConfig, BlipVisionModel

    settings = {
        "num_hidden_layers": 1,
        "hidden_size": 32,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    }
    spec = "hf:blip_vision_model," + ",".join(f"{k}={v}" for k, v in settings.items())
    report = inspect_model(spec)
    assert report.model.class_name == "BlipVisionModel"
    assert report.totals.params == _meta_params(BlipVisionModel, BlipVisionConfig(**settings))
    assert report.outputs == ((1, 577, 32), (1, 32))  # 24x24 patches of 384 + the class token
    with pytest.raises(UsageError, match="blip_vision_model has no causal-lm head"):
        resolve_target("hf:blip_vision_model,task=causal-lm")
    # UperNet's modeling module defines only a base class and a head for its config: the base
    # class has no forward of its own, so there is still no base model to build.
    with pytest.raises(UsageError, match=r"upernet has no base head .*\(it has: semantic-seg\)"):
        resolve_target("hf:upernet")


def test_a_class_whose_backend_is_missing_is_one_line() -> None:
    import importlib.util

    if importlib.util.find_spec("torchaudio") is not None:
        pytest.skip("torchaudio is installed here")
    result = runner.invoke(app, ["inspect", "hf:higgs_audio_v2_tokenizer"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("netinspect: error: hf:higgs_audio_v2_tokenizer: ")
    assert "requires the torchaudio library" in line and line.endswith("restart your runtime.")


def test_a_config_transformers_refuses_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # huggingface_hub's validation errors put the reason on the line after a colon; the
    # defaults were built outside the one-line handling and escaped as a crash (exit 4).
    from transformers import BertConfig

    def refuse(self: object, **kwargs: object) -> None:
        raise ValueError("Class validation error for 'validate_architecture':\n    bad head size")

    monkeypatch.setattr(BertConfig, "__init__", refuse)
    with pytest.raises(UsageError) as info:
        resolve_target("hf:bert")
    assert str(info.value) == (
        "hf:bert: invalid config: ValueError: Class validation error for "
        "'validate_architecture': bad head size"
    )


def test_no_default_input_names_what_forward_takes() -> None:
    # An audio encoder with no default: the example is its own first input, not an image.
    spec = "hf:clap_audio_model,num_hidden_layers=1"
    with pytest.raises(UsageError) as info:
        inspect_model(spec)
    assert str(info.value).startswith(
        f"{spec} has no default input: pass one per input of ClapAudioModel.forward("
        "input_features, is_longer"
    )
    assert str(info.value).endswith("e.g. --input input_features=SHAPE")
