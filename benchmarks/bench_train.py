"""``--train`` against a real CPU training step measured by the CPU allocator.

    python benchmarks/bench_train.py [--cases resnet18,llama2] [--json out.json]

For each case: the prediction is ``inspect_model(..., train=TrainOptions(optimizer))`` (a meta
step, target cpu: for-loop optimizer, no rounding); the real step is the same step on a
CPU-built model, measured as the bytes live before it (parameters, buffers, inputs, optimizer
state after a first step) plus the highest running total of the CPU allocator's
allocations minus frees during the second step (``torch.profiler`` allocation events). The
target is within 2%. Each case runs in a fresh subprocess; resnet50 and vit_b_16 take several
seconds each for their real steps on a shared machine: run it once, not in a loop.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.markdown_out import add_markdown_option, tee_markdown

CASES = {
    "resnet18": ("resnet18", "4x3x224x224", "sgd"),
    "resnet50": ("resnet50", "2x3x224x224", "adamw"),
    "mobilenet_v3_small": ("mobilenet_v3_small", "8x3x224x224", "sgd"),
    "vit_b_16": ("vit_b_16", "1x3x224x224", "adamw"),
    "llama2": ("hf-llama-2-layer", "1x128:int64", "adamw"),
}

WORKER = r"""
import json, sys, time
import torch
from netinspect.pipeline.inputs import _Prepared
from netinspect.pipeline.run import inspect_model
from netinspect.pipeline.train import TrainOptions, real_cpu_step_peak

name, spec, optimizer = sys.argv[1:4]
dims = [int(d) for d in spec.split(":")[0].split("x")]
torch.manual_seed(0)
if name.startswith("hf-llama"):
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(
        vocab_size=1024, hidden_size=128, intermediate_size=384, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
    )
    with torch.device("meta"):
        meta_model = LlamaForCausalLM(config)
    ids = torch.zeros(dims, dtype=torch.int64)
    t0 = time.perf_counter()
    training = inspect_model(meta_model, {"input_ids": ids.to("meta")}, train=TrainOptions(optimizer)).training
    predict_s = time.perf_counter() - t0
    model = LlamaForCausalLM(config)
    prepared = _Prepared((), {"input_ids": ids}, ())
else:
    import torchvision
    t0 = time.perf_counter()
    training = inspect_model(name, [spec], train=TrainOptions(optimizer)).training
    predict_s = time.perf_counter() - t0
    model = torchvision.models.get_model(name, weights=None)
    prepared = _Prepared((torch.zeros(dims),), {}, ())
t0 = time.perf_counter()
real = real_cpu_step_peak(model, prepared, optimizer)
real_s = time.perf_counter() - t0
print(json.dumps({
    "predicted": training.peak_bytes, "real": real, "ratio": training.peak_bytes / real,
    "phase": training.peak_phase, "module": training.peak_module,
    "predict_s": predict_s, "real_s": real_s,
}))
"""


def run_case(key: str) -> dict[str, object]:
    name, spec, optimizer = CASES[key]
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, name, spec, optimizer],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{key}: worker failed:\n{proc.stderr[-3000:]}")
    row: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    row.update(case=key, input=spec, optimizer=optimizer)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", default=None, help="also write the rows here")
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        worst = _report(args)
    if worst >= 0.02:
        raise SystemExit(1)


def _report(args: argparse.Namespace) -> float:
    rows = [run_case(key.strip()) for key in args.cases.split(",") if key.strip()]
    print("| case | input | optimizer | predicted (MiB) | real CPU (MiB) | ratio | peak in |")
    print("|---|---|---|---:|---:|---:|---|")
    worst = 0.0
    for r in rows:
        ratio = float(r["ratio"])  # type: ignore[arg-type]
        worst = max(worst, abs(ratio - 1))
        print(
            f"| {r['case']} | {r['input']} | {r['optimizer']} "
            f"| {int(r['predicted']) / 2**20:,.1f} | {int(r['real']) / 2**20:,.1f} "  # type: ignore[call-overload]
            f"| {ratio:.4f} | {r['phase']} {r['module']} |"
        )
    print(f"\nworst |ratio - 1| = {worst:.2%} (target < 2%)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
    return worst


if __name__ == "__main__":
    main()
