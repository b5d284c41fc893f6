"""Symbolic shapes: `sizes` by symbolic passes against probing, and symbolic inspection times.

    python -m benchmarks.bench_symbolic [--sizes-model raft_small] [--models vgg16,resnet50,vit_b_16]

Each measurement runs in a fresh subprocess that imports everything first (torch, torchvision,
sympy, torch's fake-tensor and symbolic-shape modules, netinspect), so the time is the work
beyond imports; torch's first-use warm-up of the symbolic machinery is part of that work. Both
wall-clock and CPU seconds (time.process_time) are shown: on a shared, oversubscribed machine
the CPU time is what the run itself cost. All rows come from one run of this script: compare
ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.markdown_out import add_markdown_option, tee_markdown

WORKER = r"""
import json, sys, time
import sympy, torch, torchvision
import torch._subclasses.fake_tensor, torch.fx.experimental.symbolic_shapes
import netinspect.pipeline.run, netinspect.pipeline.sizes, netinspect.pipeline.probe
job, name, spec = sys.argv[1], sys.argv[2], sys.argv[3].split(";")
t0, c0 = time.perf_counter(), time.process_time()
if job == "inspect":
    report = netinspect.pipeline.run.inspect_model(name, spec)
    what = "" if report.symbolic is None else report.symbolic.symbols[-1].valid_text
else:
    method = "probe" if job == "probe" else "symbolic"
    report = netinspect.pipeline.sizes.find_sizes(name, spec, method=method)
    what = report.summary
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"seconds": elapsed, "cpu": cpu, "result": what, "passes": getattr(report, "probes", 0)}))
"""


def run_worker(job: str, name: str, spec: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, job, name, spec],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else "failed"}
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-model", default="raft_small")
    parser.add_argument("--sizes-input", default="1x3x224x224;1x3x224x224")
    parser.add_argument("--models", default="vgg16,resnet50,vit_b_16")
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        print(f"## `sizes {args.sizes_model}`: symbolic passes against probing\n")
        print("| method | wall s | CPU s | passes | answer |")
        print("|---|---:|---:|---:|---|")
        symbolic = run_worker("symbolic", args.sizes_model, args.sizes_input)
        probed = run_worker("probe", args.sizes_model, args.sizes_input)
        for label, row in (("symbolic", symbolic), ("probing", probed)):
            if "error" in row:
                print(f"| {label} | | | | {row['error']} |")
            else:
                print(
                    f"| {label} | {row['seconds']:.2f} | {row['cpu']:.2f} | {row['passes']} "
                    f"| {row['result']} |"
                )
        if "error" not in symbolic and "error" not in probed:
            wall = float(probed["seconds"]) / float(symbolic["seconds"])  # type: ignore[arg-type]
            cpu = float(probed["cpu"]) / float(symbolic["cpu"])  # type: ignore[arg-type]
            print(f"\nsymbolic is {wall:.1f}x faster than probing (wall), {cpu:.1f}x (CPU)")

        print("\n## Symbolic inspection (time after imports)\n")
        print("Seconds as wall / CPU.\n")
        print("| model | plain `1x3x224x224` | `1x3xHxW` | `Bx3xHxW` | H (Bx3xHxW) |")
        print("|---|---:|---:|---:|---|")
        for name in args.models.split(","):
            plain = run_worker("inspect", name, "1x3x224x224")
            fixed_batch = run_worker("inspect", name, "1x3xHxW")
            batch = run_worker("inspect", name, "Bx3xHxW")
            cells = []
            for row in (plain, fixed_batch, batch):
                cells.append(
                    str(row["error"])
                    if "error" in row
                    else f"{row['seconds']:.2f} / {row['cpu']:.2f}"
                )
            print(f"| {name} | {' | '.join(cells)} | {batch.get('result', '')} |")


if __name__ == "__main__":
    main()
