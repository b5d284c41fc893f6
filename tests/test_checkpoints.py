"""Checkpoints: ``netinspect FILE`` (torch zip, Lightning .ckpt, safetensors, a sharded index,
a model directory), ``--weights`` as data (a row per tensor, counts, prefixes, partial loads)
and ``diff`` with a checkpoint. Every checkpoint is made here, on meta where data is not
needed; expected counts come from the torchvision models' own state dicts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import jsonschema
import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.schema import load_schema, report_schema
from tests.checkpoint_files import (
    llm_shards,
    meta_state,
    state_as_safetensors,
)
from tests.torch_features import HF_REASON, hf_models_run

REPO = Path(__file__).resolve().parents[1]
ALEXNET_3 = str(REPO / "configs" / "alexnet_3class.yaml")
VGG_KEYPOINTS = str(REPO / "configs" / "vgg16_keypoints.yaml")
TINY = f"{REPO / 'tests' / 'models' / 'sources.py'}:Tiny"  # Linear(4, 3)
runner = CliRunner()


def run(*args: str) -> Any:
    command = list(args) if args[0] == "diff" else ["inspect", *args]
    return runner.invoke(app, command)


def checkpoint_json(result: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(doc, load_schema("checkpoint"))
    return doc


def weights_json(result: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(doc["weights"], report_schema()["$defs"]["weights"] | {
        "$defs": report_schema()["$defs"]})  # fmt: skip
    return doc


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ckpt")
    out = {
        "alexnet": d / "alexnet.pth",
        "alexnet3": d / "alexnet3.pth",
        "vgg16": d / "vgg16.safetensors",
        "resnet_dp": d / "resnet18_dp.pth",
        "lightning": d / "epoch=3.ckpt",
    }
    import torchvision

    # alexnet's ImageNet-shaped state dict with real (random) values, as torch.save writes it.
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), out["alexnet"])
    torch.save(meta_state("alexnet", num_classes=3), out["alexnet3"])
    state_as_safetensors(out["vgg16"], meta_state("vgg16"))
    torch.save({"module." + k: v for k, v in meta_state("resnet18").items()}, out["resnet_dp"])
    torch.save(
        {
            "epoch": 3,
            "global_step": 120,
            "pytorch-lightning_version": "2.1.0",
            "state_dict": {"model." + k: v for k, v in meta_state("resnet18").items()},
            "optimizer_states": [],
            "lr_schedulers": [],
        },
        out["lightning"],
    )
    return out


# --- netinspect FILE ---------------------------------------------------------------------------
def test_alexnet_checkpoint_is_named_and_listed(files: dict[str, Path]) -> None:
    result = run(str(files["alexnet"]))
    assert result.exit_code == 0, result.stderr
    assert "torchvision alexnet, exactly (16 of 16 tensors match)" in result.stdout
    assert "\n   .6 " in result.stdout and "[1000, 4096]" in result.stdout  # classifier.6
    doc = checkpoint_json(run(str(files["alexnet"]), "-f", "json"))
    import torchvision

    expected = torchvision.models.alexnet(weights=None).state_dict()
    assert [t["key"] for t in doc["tensors"]] == list(expected)
    assert doc["totals"]["numel"] == sum(v.numel() for v in expected.values()) == 61_100_840
    assert doc["totals"]["by_dtype"]["float32"]["bytes"] == 4 * 61_100_840
    assert doc["format"] == "torch zip" and doc["unwrapped"] == []


def test_a_new_head_is_named_as_the_exception(files: dict[str, Path]) -> None:
    result = run(str(files["alexnet3"]))
    assert result.exit_code == 0, result.stderr
    assert "torchvision alexnet, except classifier.6: 1000 → 3 outputs" in result.stdout
    doc = checkpoint_json(run(str(files["alexnet3"]), "-f", "json"))
    arch = doc["architecture"]
    assert (arch["matching"], arch["total"]) == (14, 16)
    assert {c["key"]: c["shape_b"] for c in arch["differences"]} == {
        "classifier.6.weight": [3, 4096],
        "classifier.6.bias": [3],
    }
    md = run(str(files["alexnet3"]), "-f", "markdown")
    assert md.exit_code == 0 and "`.weight` | [3, 4096] | float32 | 12,288 |" in md.stdout


def test_html_and_mermaid_say_they_do_not_apply(files: dict[str, Path]) -> None:
    for fmt in ("html", "mermaid"):
        result = run(str(files["alexnet3"]), "-f", fmt)
        assert result.exit_code == 2 and result.stdout == ""
        assert "a checkpoint does not have" in result.stderr


def test_dataparallel_prefix_is_seen(files: dict[str, Path]) -> None:
    result = run(str(files["resnet_dp"]))
    assert result.exit_code == 0, result.stderr
    assert "torchvision resnet18, exactly (keys prefixed module.)" in result.stdout
    # The tree folds identical numbered blocks: layer1.0 and layer1.1 are one row.
    assert "    .0–1 × 2 " in result.stdout


def test_lightning_ckpt_is_unwrapped(files: dict[str, Path]) -> None:
    result = run(str(files["lightning"]))
    assert result.exit_code == 0, result.stderr
    assert "Unwrapped: state_dict" in result.stdout
    assert "torchvision resnet18, exactly (keys prefixed model.)" in result.stdout
    doc = checkpoint_json(run(str(files["lightning"]), "-f", "json"))
    assert doc["unwrapped"] == ["state_dict"]
    assert doc["metadata"]["epoch"] == "3" and doc["metadata"]["global_step"] == "120"
    assert len(doc["tensors"]) == len(meta_state("resnet18"))


def test_safetensors_header_is_read_without_data(files: dict[str, Path]) -> None:
    doc = checkpoint_json(run(str(files["vgg16"]), "-f", "json"))
    expected = meta_state("vgg16")
    assert doc["format"] == "safetensors"
    keys = [t["key"] for t in doc["tensors"]]
    assert sorted(keys) == sorted(expected)
    assert keys.index("features.10.weight") > keys.index("features.7.weight")  # natural order
    assert doc["totals"]["numel"] == 138_357_544
    assert doc["architecture"]["description"] == "torchvision vgg16, exactly"
    assert os.stat(files["vgg16"]).st_blocks * 512 < 1_000_000  # the data was never written


def test_a_model_name_that_is_a_checkpoint_says_so(files: dict[str, Path]) -> None:
    from netinspect import inspect_model
    from netinspect.errors import UsageError

    with pytest.raises(UsageError, match=r"is a checkpoint, not a model.*weights=\""):
        inspect_model(str(files["alexnet"]))


def test_model_options_on_a_checkpoint_are_refused(files: dict[str, Path]) -> None:
    result = run(str(files["alexnet"]), "--weights", str(files["alexnet"]))
    assert result.exit_code == 2 and "name the model first" in result.stderr


# --- --weights: a row per tensor -----------------------------------------------------------------
def test_alexnet_into_three_classes_is_a_table_and_exit_2(files: dict[str, Path]) -> None:
    result = run(ALEXNET_3, "--weights", str(files["alexnet"]))
    assert result.exit_code == 2
    assert (
        "14 of 16 tensors match (2 shape mismatch; classifier.6.weight: [1000, 4096] in the "
        "checkpoint, [3, 4096] in the model;" in result.stderr
    )
    lines = result.stdout.splitlines()
    assert any(
        "classifier.6.weight" in ln and "[1000, 4096] float32" in ln and "[3, 4096] float32" in ln
        and "shape mismatch" in ln for ln in lines
    )  # fmt: skip
    assert sum("loaded" in ln for ln in lines) == 14
    assert "14 of 16 model tensors match" in result.stdout
    doc = weights_json(run(ALEXNET_3, "--weights", str(files["alexnet"]), "-f", "json"))
    w = doc["weights"]
    assert (w["matching"], w["model_tensors"]) == (14, 16)
    assert w["counts"] == {"loaded": 14, "shape mismatch": 2, "missing in checkpoint": 0,
                           "unexpected in checkpoint": 0}  # fmt: skip


def test_partial_load_copies_what_fits(files: dict[str, Path], report_validator: Any) -> None:
    result = run(ALEXNET_3, "--weights", str(files["alexnet"]), "--weights-partial", "-d", "cpu")
    assert result.exit_code == 0, result.stderr
    assert "keep their random initialisation: classifier.6" in result.stdout
    doc = json.loads(
        run(ALEXNET_3, "--weights", str(files["alexnet"]), "--weights-partial", "-d", "cpu",
            "-f", "json").stdout
    )  # fmt: skip
    report_validator.validate(doc)
    assert doc["weights"]["random_init"] == ["classifier.6"]
    assert doc["weights"]["partial"] and doc["weights"]["values_loaded"]
    # The values really land in the model, and the new head keeps its own.
    from netinspect.pipeline.weights import load_weights
    from netinspect.sources.build import build_model

    model = build_model(ALEXNET_3)
    head = model.classifier[6].weight.detach().clone()
    load_weights(model, str(files["alexnet"]), partial=True)
    saved = torch.load(files["alexnet"], weights_only=True)
    assert torch.equal(model.features[0].weight, saved["features.0.weight"])
    assert torch.equal(model.classifier[6].weight, head)


def test_vgg16_into_the_keypoint_head(files: dict[str, Path]) -> None:
    from netinspect.sources.build import build_model

    model_keys = dict(build_model(VGG_KEYPOINTS, "meta").state_dict())
    ckpt = meta_state("vgg16")
    fits = [k for k in model_keys if k in ckpt and ckpt[k].shape == model_keys[k].shape]
    missing = [k for k in model_keys if k not in ckpt]
    unexpected = [k for k in ckpt if k not in model_keys]
    result = run(VGG_KEYPOINTS, "--weights", str(files["vgg16"]), "-f", "json")
    assert result.exit_code == 2
    w = weights_json(result)["weights"]
    assert w["matching"] == len(fits) == 26
    assert w["counts"]["missing in checkpoint"] == len(missing) == 2  # avgpool.0 conv
    assert w["counts"]["unexpected in checkpoint"] == len(unexpected) == 2  # classifier.6
    assert w["counts"]["shape mismatch"] == 4  # classifier.0 and .3
    table = run(VGG_KEYPOINTS, "--weights", str(files["vgg16"]))
    assert "avgpool.0.weight" in table.stdout and "missing in checkpoint" in table.stdout
    assert "26 of 32 model tensors match" in table.stdout


def test_dataparallel_prefix_is_stripped_with_a_note(files: dict[str, Path]) -> None:
    result = run("resnet18", "--weights", str(files["resnet_dp"]), "-f", "json")
    assert result.exit_code == 0, result.stderr
    w = json.loads(result.stdout)["weights"]
    assert w["stripped_prefix"] == "module." and w["matching"] == w["model_tensors"] == 122
    assert "starts with 'module.'" in w["notes"][0]


def test_lightning_ckpt_loads_through_weights(files: dict[str, Path]) -> None:
    result = run("resnet18", "--weights", str(files["lightning"]), "-f", "json")
    assert result.exit_code == 0, result.stderr
    w = json.loads(result.stdout)["weights"]
    assert w["unwrapped"] == ["state_dict"] and w["stripped_prefix"] == "model."


def test_safetensors_weights_on_meta_and_on_cpu(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "tiny.safetensors"
    save_file({"fc.weight": torch.ones(3, 4), "fc.bias": torch.zeros(3)}, str(path))
    for device in ("auto", "meta", "cpu"):
        result = run(TINY, "-i", "1x4", "--weights", str(path), "-d", device)
        assert result.exit_code == 0, (device, result.stderr)
        assert "2 of 2 model tensors match" in result.stdout


# --- a sharded index -----------------------------------------------------------------------------
def test_a_140_gb_sharded_index_is_read_from_its_headers(tmp_path: Path) -> None:
    index, declared = llm_shards(tmp_path)
    assert declared > 140e9
    used = sum(os.stat(p).st_blocks * 512 for p in tmp_path.iterdir())
    assert used < 10_000_000  # sparse: the data region is declared, not written
    start = time.perf_counter()
    result = run(str(index), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert time.perf_counter() - start < 10  # the benchmark holds it to 2 s in a fresh process
    doc = checkpoint_json(result)
    assert doc["totals"]["bytes"] == declared and doc["format"] == "safetensors index"
    assert len(doc["files"]) == 4 and doc["totals"]["tensors"] == 1 + 80 * 9 + 2
    assert doc["architecture"] is None and "no 4-d convolution weight" in doc["searched"][0]
    table = run(str(index))
    assert (
        ".0–79 × 80" in table.stdout and "model.layers.0.mlp" not in table.stdout
    )  # 80 identical decoder layers, one row
    assert "bfloat16: 723 tensors" in table.stdout


def test_model_directory_with_config(tmp_path: Path) -> None:
    state_as_safetensors(tmp_path / "model.safetensors", meta_state("resnet18"))
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "resnet", "architectures": ["ResNetForImageClassification"]})
    )
    doc = checkpoint_json(run(str(tmp_path), "-f", "json"))
    assert doc["format"] == "model directory (safetensors)"
    assert doc["config"] == {
        "model_type": "resnet",
        "architectures": "ResNetForImageClassification",
    }
    assert doc["architecture"]["name"] == "resnet18"


# --- diff ----------------------------------------------------------------------------------------
def test_diff_architecture_against_checkpoint(files: dict[str, Path]) -> None:
    result = run("diff", "alexnet", str(files["alexnet3"]))
    assert result.exit_code == 1
    assert "14 of 16 tensors the same; 2 shape changed" in result.stdout
    doc = json.loads(run("diff", "alexnet", str(files["alexnet3"]), "-f", "json").stdout)
    jsonschema.validate(doc, load_schema("checkpoint")["$defs"]["diff"] | {
        "$defs": load_schema("checkpoint")["$defs"]})  # fmt: skip
    assert doc["counts"]["shape changed"] == 2 and not doc["same"]


def test_diff_checkpoint_against_checkpoint(files: dict[str, Path]) -> None:
    same = run("diff", str(files["resnet_dp"]), str(files["lightning"]))
    assert same.exit_code == 0, same.stdout
    assert "122 of 122 tensors the same" in same.stdout
    other = run("diff", str(files["alexnet"]), str(files["vgg16"]), "-f", "json")
    assert other.exit_code == 1
    counts = json.loads(other.stdout)["counts"]
    alexnet, vgg16 = set(meta_state("alexnet")), set(meta_state("vgg16"))
    assert counts["only in A"] == len(alexnet - vgg16) == 10
    assert counts["only in B"] == len(vgg16 - alexnet) == 26


def test_safetensors_data_read_without_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the safetensors package, the data is read within the checked header's bounds."""
    import builtins
    import struct

    header = {
        "fc.weight": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
        "fc.bias": {"dtype": "F32", "shape": [3], "data_offsets": [48, 60]},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "tiny.safetensors"
    values = torch.arange(15, dtype=torch.float32)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + values.numpy().tobytes())
    real_import = builtins.__import__

    def no_safetensors(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("safetensors"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)
    from netinspect.pipeline.weights import load_weights
    from netinspect.sources.build import build_model

    model = build_model(TINY)
    report = load_weights(model, str(path))
    assert report.values_loaded and all(r.status == "loaded" for r in report.rows)
    assert torch.equal(model.fc.weight, values[:12].reshape(3, 4))
    assert torch.equal(model.fc.bias, values[12:])


def test_model_directory_names_the_configs_architecture(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    if not hf_models_run():
        pytest.skip(HF_REASON)
    config = transformers.GPT2Config(
        n_layer=2, n_embd=32, n_head=2, vocab_size=100, n_positions=64, eos_token_id=0,
        bos_token_id=0,
    )  # fmt: skip
    model = transformers.GPT2LMHeadModel(config)
    model.save_pretrained(tmp_path)
    doc = checkpoint_json(run(str(tmp_path), "-f", "json"))
    assert doc["config"]["architectures"] == "GPT2LMHeadModel"
    arch = doc["architecture"]
    assert arch["source"] == "transformers" and arch["name"] == "GPT2LMHeadModel"
    # The head is tied to the embedding, so save_pretrained leaves it out of the file.
    saved = {k for k in model.state_dict() if k != "lm_head.weight"}
    assert {t["key"] for t in doc["tensors"]} == saved
    assert arch["matching"] == arch["total"] == len(saved)
    assert arch["description"].endswith("except 1 tensor missing (lm_head.weight)")


def test_timm_is_searched_when_torchvision_has_no_such_keys(tmp_path: Path) -> None:
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=10)
    path = tmp_path / "effnet.pth"
    torch.save(model.state_dict(), path)
    doc = checkpoint_json(run(str(path), "-f", "json"))
    arch = doc["architecture"]
    assert arch["description"] == "timm efficientnet_b0, except classifier: 1000 → 10 outputs"
    assert (arch["matching"], arch["total"]) == (
        len(model.state_dict()) - 2,
        len(model.state_dict()),
    )
    assert doc["searched"][1].startswith("timm: ")


def test_a_missing_checkpoint_file_is_named_as_such() -> None:
    result = run("no_such_file.pth")
    assert result.exit_code == 2 and "no such checkpoint file: no_such_file.pth" in result.stderr
    assert "did you mean" not in result.stderr


def test_a_sharded_torch_index_inspected_and_loaded(tmp_path: Path) -> None:
    weight, bias = torch.arange(12.0).reshape(3, 4), torch.tensor([1.0, 2.0, 3.0])
    torch.save({"fc.weight": weight}, tmp_path / "pytorch_model-00001-of-00002.bin")
    torch.save({"fc.bias": bias}, tmp_path / "pytorch_model-00002-of-00002.bin")
    index = tmp_path / "pytorch_model.bin.index.json"
    index.write_text(
        json.dumps(
            {
                "weight_map": {
                    "fc.weight": "pytorch_model-00001-of-00002.bin",
                    "fc.bias": "pytorch_model-00002-of-00002.bin",
                }
            }
        )
    )
    doc = checkpoint_json(run(str(index), "-f", "json"))
    assert doc["format"] == "torch index" and len(doc["files"]) == 2
    assert {t["key"]: (t["shape"], t["shard"]) for t in doc["tensors"]} == {
        "fc.weight": ([3, 4], "pytorch_model-00001-of-00002.bin"),
        "fc.bias": ([3], "pytorch_model-00002-of-00002.bin"),
    }
    result = run(TINY, "-i", "1x4", "-d", "cpu", "--weights", str(index), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["weights"]["matching"] == 2
    from netinspect.pipeline.weights import load_weights
    from netinspect.sources.build import build_model

    model = build_model(TINY)
    load_weights(model, str(index))
    assert torch.equal(model.fc.weight, weight) and torch.equal(model.fc.bias, bias)
