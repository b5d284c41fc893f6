"""netinspect vs torchinfo: time beyond imports and peak RSS, plus `netinspect --help` start-up.

    pip install -e ".[bench]" && python -m benchmarks.bench_inspect [--models vgg16,resnet50]

Each (tool, model) runs in a fresh subprocess that imports everything first, so the time is
the work beyond imports and the peak RSS is that run's own (ru_maxrss minus RSS after imports).
All rows come from one run of this script; compare ratios, not absolute times (shared machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time

from benchmarks.markdown_out import add_markdown_option, tee_markdown

DEFAULT_MODELS = ("vgg16", "resnet50", "vit_b_16", "vit_h_14")

WORKER = r"""
import json, resource, sys, time
import torch, torchvision, torchinfo, netinspect.pipeline.run
tool, name = sys.argv[1], sys.argv[2]

def rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

base = rss_now()
t0 = time.perf_counter()
if tool == "netinspect":
    report = netinspect.pipeline.run.inspect_model(name, ["1x3x224x224"])
    params = report.totals.params
else:
    model = torchvision.models.get_model(name, weights=None)
    stats = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
    params = int(stats.total_params)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_rss": max(0, peak - base), "params": params}))
"""


def run_worker(tool: str, name: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, tool, name], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def help_seconds(repeats: int = 5) -> float:
    exe = shutil.which("netinspect")
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "netinspect_cli.main", "--help"]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        print(
            "| model | netinspect s | torchinfo s | speed-up | netinspect peak RSS | "
            "torchinfo peak RSS | params agree |"
        )
        print("|---|---:|---:|---:|---:|---:|---|")
        for name in args.models.split(","):
            ours = run_worker("netinspect", name)
            theirs = run_worker("torchinfo", name)
            if "error" in ours or "error" in theirs:
                print(f"| {name} | {ours.get('error', '')} | {theirs.get('error', '')} | | | | |")
                continue
            mib = 1024 * 1024
            print(
                f"| {name} | {ours['seconds']:.3f} | {theirs['seconds']:.2f} | "
                f"{theirs['seconds'] / ours['seconds']:.0f}× | {ours['peak_rss'] / mib:,.0f} MiB | "
                f"{theirs['peak_rss'] / mib:,.0f} MiB | {ours['params'] == theirs['params']} |",
                flush=True,
            )
        print(f"\n`netinspect --help`: {help_seconds():.3f} s (median of 5, whole process)")


if __name__ == "__main__":
    main()
