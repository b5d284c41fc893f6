"""Capture overhead: in-process ``inspect_model`` against a bare meta build + forward.

    python -m benchmarks.bench_overhead [--models vgg16,resnet50,vit_b_16] [--repeats 9]

Both sides run in this process after a warm-up, interleaved, and each time is the CPU time of
this process (``time.process_time``), the fastest of ``--repeats``: on a shared machine, wall
time measures the neighbours. "bare" is what a user would do without netinspect: build the
torchvision model under ``torch.device("meta")``, ``eval()``, one forward under ``no_grad``.
"netinspect" is ``inspect_model(name, ["1x3x224x224"])``: resolve, build on meta, the hooked
pass (rows, data flow, FLOPs), and the report. The goal is a ratio of at most 1.3.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from benchmarks.markdown_out import add_markdown_option, tee_markdown

DEFAULT_MODELS = ("vgg16", "resnet50", "vit_b_16")


def cpu_seconds(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(name: str, repeats: int) -> tuple[float, float]:
    """(bare, netinspect): the fastest CPU time of each, measured alternately."""
    import torch
    import torchvision

    from netinspect import inspect_model

    x = torch.zeros(1, 3, 224, 224, device="meta")

    def bare() -> None:
        with torch.device("meta"):
            model = torchvision.models.get_model(name, weights=None)
        model.eval()
        with torch.no_grad():
            model(x)

    def ours() -> None:
        inspect_model(name, ["1x3x224x224"])

    bare()
    ours()
    bare_times, our_times = [], []
    for _ in range(repeats):
        bare_times.append(cpu_seconds(bare))
        our_times.append(cpu_seconds(ours))
    return min(bare_times), min(our_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--repeats", type=int, default=9)
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        print("| model | bare meta build + forward, s | inspect_model, s | ratio |")
        print("|---|---:|---:|---:|")
        for name in args.models.split(","):
            bare, ours = measure(name, args.repeats)
            print(f"| {name} | {bare:.4f} | {ours:.4f} | {ours / bare:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
