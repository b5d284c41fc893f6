"""``--train``: a training step's memory on meta, checked against arithmetic and a real CPU step."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from netinspect.pipeline.inputs import _Prepared
from netinspect.pipeline.run import inspect_model
from netinspect.pipeline.train import TrainOptions, real_cpu_step_peak
from netinspect.torch_compat.memory import has_mem_tracker

pytestmark = pytest.mark.skipif(not has_mem_tracker(), reason="this torch lacks MemTracker")


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def _block_mlp() -> nn.Module:
    # No convolution: CPU convolutions allocate im2col workspaces that meta kernels don't,
    # which matters on a model this small (on resnet-sized models it is under 1%).
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(256, 512), nn.GELU(), nn.LayerNorm(512), nn.Dropout(0.1), nn.Linear(512, 10)
    )


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("optimizer", ["sgd", "sgd-momentum", "adam", "adamw"])
def test_model_states_are_the_arithmetic_of_the_parameters(optimizer: str) -> None:
    model = _mlp()
    n = 64 * 128 + 128 + 128 * 10 + 10
    assert _n_params(model) == n
    t = inspect_model(model, ["8x64"], train=TrainOptions(optimizer=optimizer)).training
    assert t is not None
    cat = t.by_category
    # float32: 4 bytes per parameter; one gradient each; optimizer state per parameter:
    # none (sgd), momentum_buffer (sgd-momentum), exp_avg + exp_avg_sq (adam, adamw).
    assert cat["parameters"] == 4 * n
    states = {"sgd": 0, "sgd-momentum": 1, "adam": 2, "adamw": 2}[optimizer]
    assert cat["optimizer_state"] == 4 * n * states
    assert t.peak_phase in ("backward", "optimizer")
    if t.peak_phase == "optimizer":
        assert cat["gradients"] == 4 * n
    assert cat["inputs"] == 8 * 64 * 4
    assert sum(cat.values()) == t.peak_bytes
    assert t.optimizer_implementation == "for-loop"
    assert t.per_module[""] == t.peak_bytes or t.peak_phase == "optimizer"
    # The caller's module is left as it was: on cpu, no gradients.
    assert all(p.device.type == "cpu" and p.grad is None for p in model.parameters())


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_prediction_is_within_2_percent_of_a_real_cpu_step(optimizer: str) -> None:
    model = _block_mlp()
    t = inspect_model(model, ["32x256"], train=TrainOptions(optimizer=optimizer)).training
    assert t is not None
    x = torch.zeros(32, 256)
    real = real_cpu_step_peak(model, _Prepared((x,), {}, ()), optimizer)
    assert abs(t.peak_bytes / real - 1) < 0.02, (t.peak_bytes, real)


def test_cuda_target_rounds_each_allocation_to_512_bytes_and_uses_foreach() -> None:
    model = _mlp()
    cpu = inspect_model(model, ["8x64"], train=TrainOptions(optimizer="sgd")).training
    gpu = inspect_model(
        model, ["8x64"], train=TrainOptions(optimizer="sgd", gpu_memory_bytes=2**30)
    ).training
    assert cpu is not None and gpu is not None
    assert gpu.optimizer_implementation == "foreach" and gpu.target == "cuda"
    # Four parameters (two weights, two biases), each rounded up to a multiple of 512 bytes.
    rounded = sum(-(-4 * p.numel() // 512) * 512 for p in model.parameters())
    assert gpu.by_category["parameters"] == rounded
    assert gpu.peak_bytes % 512 == 0
    assert gpu.gpu is not None and gpu.gpu.fits
    fit = gpu.gpu
    assert fit.needed_bytes == fit.peak_bytes + sum(a.bytes for a in fit.allowances)
    assert fit.margin_bytes == 2**30 - fit.needed_bytes


def test_hf_language_model_trains_on_its_own_loss() -> None:
    pytest.importorskip("transformers")
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    ids = torch.zeros(2, 16, dtype=torch.int64)
    t = inspect_model(model, {"input_ids": ids}, train=TrainOptions()).training
    assert t is not None
    assert t.loss_kind == "model"
    n = _n_params(model)
    assert t.by_category["parameters"] == 4 * n
    assert t.by_category["optimizer_state"] == 8 * n
    real = real_cpu_step_peak(model, _Prepared((), {"input_ids": ids}, ()), "adamw")
    assert abs(t.peak_bytes / real - 1) < 0.02, (t.peak_bytes, real)


def _cli(*args: str) -> tuple[int, str, str]:
    from netinspect_cli.main import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_has_training_in_the_published_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    from netinspect.schema import load_schema

    model_file = tmp_path / "m.py"
    model_file.write_text(
        "from torch import nn\n"
        "class M(nn.Sequential):\n"
        "    def __init__(self):\n"
        "        super().__init__(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))\n"
    )
    code, out, _ = _cli(
        "inspect", f"{model_file}:M", "-i", "8x64", "--train", "--optimizer", "sgd",
        "--gpu", "rtx4090", "-f", "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, load_schema("report"))
    assert "training_bytes_estimate" not in data["totals"]
    training = data["training"]
    assert training["optimizer"] == {"name": "sgd", "implementation": "foreach"}
    assert training["gpu"]["gpu"] == "RTX 4090 24GB"
    assert training["gpu"]["memory_bytes"] == 24 * 2**30
    assert set(training["per_module"]) == {"", "0", "1", "2"}
    assert len(training["series"]["phases"]) == len(training["series"]["bytes"])
    assert max(map(sum, training["series"]["bytes"])) == training["peak_bytes"]
    code, out, _ = _cli("inspect", f"{model_file}:M", "-i", "8x64", "--train")
    assert code == 0 and "Train peak" in out and "Training step peak" in out
    assert "Training step (est.)" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "lion", "--train"], "--optimizer lion: choose from"),
        (["--gpu", "h100"], "--gpu needs --train"),
        (["--train", "--gpu", "b200"], "unknown accelerator"),
        (["--train", "--gpu", "a100"], "which one?"),
        (["--train", "--gpu-memory", "80 parsecs"], "--gpu-memory 80 parsecs"),
    ],
)
def test_cli_refuses_bad_training_options(args: list[str], message: str) -> None:
    code, _, err = _cli("inspect", "resnet18", *args)
    assert code == 2
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "cost",
    [
        lambda n: 1000 + 37 * n,  # affine: activations grow with the batch
        lambda n: max(5000, 1000 + 37 * n),  # the optimizer's peak first, then activations
        lambda n: 1000 + 3 * n * n + 10 * n,  # attention: quadratic in a sequence length
    ],
)
@pytest.mark.parametrize("memory", [900, 1037, 5000, 20000, 10**6])
def test_search_finds_the_largest_size_that_fits(cost, memory: int) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from netinspect.pipeline.fit_search import _search

    seen: dict[int, SimpleNamespace] = {}

    def fits(n: int) -> bool:
        seen.setdefault(n, SimpleNamespace(fits=cost(n) <= memory, memory_bytes=memory))
        return bool(seen[n].fits)

    found = _search(fits, cost, seen, 10**5)  # type: ignore[arg-type]
    truth = max((n for n in range(1, 10**5 + 1) if cost(n) <= memory), default=None)
    assert found == truth
    assert len(seen) <= 32


def test_sizes_train_finds_the_largest_batch_that_fits() -> None:
    from netinspect.gpus import MIB
    from netinspect.pipeline.fit_search import find_largest_fitting

    memory = 600 * MIB + 3 * MIB  # the CUDA context allowance and 3 MiB for the step
    options = TrainOptions(optimizer="sgd", gpu_memory_bytes=memory)
    search = find_largest_fitting(_block_mlp(), ["Bx256"], options)
    assert search.dim == "B" and search.largest is not None and search.largest > 2
    assert search.at_largest is not None and search.at_largest.fits
    assert search.at_next is not None and not search.at_next.fits
    # Independent steps either side of the answer agree with it.
    for size, should_fit in ((search.largest - 1, True), (search.largest + 2, False)):
        t = inspect_model(_block_mlp(), [f"{size}x256"], train=options).training
        assert t is not None and t.gpu is not None and t.gpu.fits is should_fit


def test_cli_sizes_train_json_follows_its_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    from netinspect.schema import load_schema

    model_file = tmp_path / "m.py"
    model_file.write_text(
        "from torch import nn\n"
        "class M(nn.Sequential):\n"
        "    def __init__(self):\n"
        "        super().__init__(nn.Linear(256, 512), nn.GELU(), nn.Linear(512, 10))\n"
    )
    args = [f"{model_file}:M", "-i", "1x256", "--train", "--gpu-memory", "603MiB"]
    code, out, _ = _cli("sizes", *args, "-f", "json")
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, load_schema("fit"))
    assert data["dim"] == "B" and data["inputs"] == ["Bx256"]
    assert data["at_largest"]["fits"] and not data["at_next"]["fits"]
    code, out, _ = _cli("sizes", *args)
    assert code == 0 and f"Largest batch that fits: {data['largest']}" in out


def _blocks() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        *(nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64)) for _ in range(4))
    )


def test_checkpointing_saves_memory_and_matches_a_real_cpu_step() -> None:
    from netinspect.pipeline.train import checkpoint_modules

    plain = inspect_model(_blocks(), ["2048x64"], train=TrainOptions(optimizer="sgd")).training
    options = TrainOptions(optimizer="sgd", checkpoint=("*",))
    saved = inspect_model(_blocks(), ["2048x64"], train=options).training
    assert plain is not None and saved is not None
    assert saved.checkpoint == ("0", "1", "2", "3")  # the outermost matches only
    # Only the blocks' inputs are kept; one block's activations come back at a time.
    assert saved.peak_bytes < plain.peak_bytes
    model = _blocks()
    checkpoint_modules(model, ("*",), "cpu")
    real = real_cpu_step_peak(model, _Prepared((torch.zeros(2048, 64),), {}, ()), "sgd")
    assert abs(saved.peak_bytes / real - 1) < 0.02, (saved.peak_bytes, real)


def test_checkpoint_pattern_that_matches_nothing_is_refused() -> None:
    from netinspect.errors import UsageError

    with pytest.raises(UsageError, match="no module's name matches"):
        inspect_model(_blocks(), ["2x64"], train=TrainOptions(checkpoint=("layers.*",)))


def test_html_page_draws_memory_over_the_step() -> None:
    import xml.dom.minidom

    from netinspect.render.html import render_html
    from netinspect.render.training_chart import training_chart_svg

    report = inspect_model(_mlp(), ["8x64"], train=TrainOptions()).to_dict()
    training = report["training"]
    svg = training_chart_svg(training)
    dom = xml.dom.minidom.parseString(svg)
    drawn = {
        p.getElementsByTagName("title")[0].firstChild.data
        for p in dom.getElementsByTagName("polygon")
    }  # type: ignore[union-attr]
    nonzero = {
        c
        for k, c in enumerate(training["series"]["categories"])
        if any(point[k] for point in training["series"]["bytes"])
    }
    assert drawn == nonzero
    phases = {t.firstChild.data for t in dom.getElementsByTagName("text")}  # type: ignore[union-attr]
    assert {"forward", "backward", "optimizer"} <= phases
    assert any(p.startswith("peak ") for p in phases)
    page = render_html(report)
    assert '"trainingChart":"\\u003csvg' in page and "training-chart" in page
