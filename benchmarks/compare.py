"""Compare netinspect with FlopCounterMode, fvcore and torchinfo (not a timed test).

    python -m benchmarks.compare agreement   # FLOP totals on 10 torchvision models
    python -m benchmarks.compare scale       # time and peak RSS on large models
    python -m benchmarks.compare calls       # capture overhead on 10,001 module calls
    python -m benchmarks.compare overhead    # inspect_model against a bare meta build + forward

Add `--markdown PATH` to also write the table to a Markdown file (the docs include it).

Every measurement runs in its own subprocess under an address-space limit (RLIMIT_AS, 8 GiB
by default), so a peer that cannot fit shows "out of memory" instead of taking the machine
down. Peers get what their users would give them: a model built on CPU (torchinfo and fvcore
run a real forward), and their time includes building it; netinspect uses its default device
(meta), its time includes its own build. Times exclude imports; peak RSS is the whole
process's, so the "baseline" row (imports only) is the floor under every other row.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

from benchmarks.markdown_out import tee_markdown

AGREEMENT_MODELS = (
    "resnet18", "resnet50", "vgg16", "mobilenet_v2", "efficientnet_b0", "densenet121",
    "convnext_tiny", "regnet_y_400mf", "vit_b_16", "swin_t",
)  # fmt: skip
SCALE_MODELS = ("vgg16", "vit_h_14", "regnet_y_128gf", "decoder_59b")
LIMIT_BYTES = 8 * 1024**3
DECODER_CONFIG = "configs/decoder_59b.yaml"  # 80 layers, d_model 8192: 59.6 B parameters


def _build(name: str, device: str) -> tuple[Any, Any]:
    import torch

    if name == "decoder_59b":
        # The shipped config, as peers' users would build it: a real module on CPU.
        from netinspect import build_model

        return build_model(DECODER_CONFIG, device=device), torch.zeros(
            1, 128, dtype=torch.int64, device=device
        )
    import torchvision

    with torch.device(device):
        model = torchvision.models.get_model(name, weights=None).eval()
    return model, torch.zeros(1, 3, 224, 224, device=device)


def run_job(tool: str, name: str) -> dict[str, Any]:
    """One measurement in this process: seconds, peak RSS (MiB), FLOPs where the tool counts."""
    import torch
    import torchvision  # noqa: F401  (imports are paid before the clock starts, for every tool)

    flops: int | None = None
    if tool == "baseline":
        # Only the imports: the floor under every other row's peak RSS.
        return {"seconds": 0.0, "peak_rss_mib": _peak_rss_mib(), "flops": None}
    if name == "tiny_blocks":
        from benchmarks.models import tiny_blocks

        with torch.device("meta"):
            blocks = tiny_blocks()
        start = time.perf_counter()
        if tool == "netinspect":
            from netinspect.pipeline.run import inspect_model

            inspect_model(blocks, ["1x8"])
        else:  # the same forward with no capture: the floor for any inspector
            with torch.no_grad():
                blocks(torch.zeros(1, 8, device="meta"))
        return {
            "seconds": time.perf_counter() - start,
            "peak_rss_mib": _peak_rss_mib(),
            "flops": None,
        }
    if tool == "netinspect":
        from netinspect.pipeline.run import inspect_model

        start = time.perf_counter()
        report = inspect_model(DECODER_CONFIG if name == "decoder_59b" else name)
        flops = report.totals.matmul_flops  # the figure the other tools count
    else:
        # Peers need a real model: building it on CPU is part of what their users wait for.
        start = time.perf_counter()
        model, x = _build(name, "cpu")
        with torch.no_grad():
            if tool == "flopcounter":
                from torch.utils.flop_counter import FlopCounterMode

                with FlopCounterMode(display=False) as counter:
                    model(x)
                flops = counter.get_total_flops()
            elif tool == "fvcore":
                from fvcore.nn import FlopCountAnalysis

                analysis = FlopCountAnalysis(model, x)
                analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
                flops = 2 * int(analysis.total())  # fvcore counts one multiply-add as one "flop"
            elif tool == "torchinfo":
                import torchinfo

                stats = torchinfo.summary(model, input_data=x, verbose=0)
                flops = 2 * int(stats.total_mult_adds)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "flops": flops}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def measure(tool: str, name: str, timeout: float = 900) -> dict[str, Any]:
    """Run one job in a memory-limited subprocess; failures come back as an ``error`` text."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.compare", "job", tool, name],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if proc.returncode == 0:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result
    text = proc.stderr
    oom = "MemoryError" in text or "out of memory" in text.lower() or "alloc" in text.lower()
    last = (text.strip().splitlines() or ["failed"])[-1]
    return {
        "error": "out of memory" if oom or proc.returncode < 0 else last[-160:].replace("|", "/")
    }


def _g(flops: int | None) -> str:
    return "-" if flops is None else f"{flops / 1e9:.2f}"


def agreement() -> None:
    print("| model | netinspect GFLOPs | FlopCounterMode | fvcore ×2 | netinspect / fvcore×2 |")
    print("|---|---:|---:|---:|---:|")
    for name in AGREEMENT_MODELS:
        ours, torch_ref, fv = (measure(t, name) for t in ("netinspect", "flopcounter", "fvcore"))
        cells = [r.get("flops") for r in (ours, torch_ref, fv)]
        ratio = f"{cells[0] / cells[2]:.4f}" if cells[0] and cells[2] else "-"
        shown = [
            _g(c) if c is not None else r.get("error", "-")
            for c, r in zip(cells, (ours, torch_ref, fv), strict=False)
        ]
        print(f"| {name} | " + " | ".join(shown) + f" | {ratio} |", flush=True)


def calls() -> None:
    ours, plain = measure("netinspect", "tiny_blocks"), measure("meta-forward", "tiny_blocks")
    if "error" in ours or "error" in plain:
        print(f"failed: {ours.get('error', '')} {plain.get('error', '')}")
        return
    print("| 2,500 blocks, 10,001 module calls | time (s) |")
    print("|---|---:|")
    print(f"| plain forward on meta (no capture) | {plain['seconds']:.2f} |")
    print(f"| netinspect inspect_model | {ours['seconds']:.2f} |")
    print(f"\ncapture overhead: {ours['seconds'] / plain['seconds']:.2f}× the plain forward")


OVERHEAD_MODELS = ("vgg16", "resnet50", "vit_b_16")


def overhead_job(name: str, repeats: int) -> dict[str, Any]:
    """In one warm process: ``inspect_model(name)`` against the same model built on meta and
    run forward with no capture. The two alternate, ``repeats`` pairs; each pair gives a
    ratio, and the median ratio is reported (a change in machine load between pairs cancels
    out). Times are medians too."""
    import statistics

    import torch
    import torchvision

    from netinspect.pipeline.run import inspect_model

    def bare() -> None:
        with torch.device("meta"):
            model = torchvision.models.get_model(name, weights=None).eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, 224, 224, device="meta"))

    def ours() -> None:
        inspect_model(name)

    bare(), ours()  # first calls load torch's lazy pieces; they are not what is compared
    pairs: list[tuple[float, float]] = []
    for _ in range(repeats):
        start = time.perf_counter()
        bare()
        middle = time.perf_counter()
        ours()
        pairs.append((middle - start, time.perf_counter() - middle))
    return {
        "bare": statistics.median(b for b, _ in pairs),
        "netinspect": statistics.median(n for _, n in pairs),
        "ratio": statistics.median(n / b for b, n in pairs),
    }


def overhead(repeats: int = 21) -> None:
    print("| model | bare meta build + forward (s) | netinspect inspect_model (s) | ratio |")
    print("|---|---:|---:|---:|")
    for name in OVERHEAD_MODELS:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.compare", "overhead-job", name, str(repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"| {name} | {r['bare']:.4f} | {r['netinspect']:.4f} | {r['ratio']:.2f}× |",
            flush=True,
        )


def scale() -> None:
    print("| model | tool | time (s) | peak RSS (MiB) | GFLOPs |")
    print("|---|---|---:|---:|---:|")
    floor = measure("baseline", "-")
    print(f"| (imports only) | baseline | - | {floor.get('peak_rss_mib', 0):,.0f} | |", flush=True)
    for name in SCALE_MODELS:
        for tool in ("netinspect", "torchinfo", "fvcore"):
            r = measure(tool, name)
            if "error" in r:
                print(f"| {name} | {tool} | {r['error']} | | |", flush=True)
            else:
                print(
                    f"| {name} | {tool} | {r['seconds']:.2f} | {r['peak_rss_mib']:,.0f} | "
                    f"{_g(r['flops'])} |",
                    flush=True,
                )


def main(argv: list[str]) -> None:
    markdown = None
    if "--markdown" in argv:  # --markdown PATH: also write the table there (the docs include it)
        at = argv.index("--markdown")
        if at + 1 >= len(argv):
            sys.exit("--markdown needs a PATH")
        markdown = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    match argv:
        case ["job", tool, name]:
            print(json.dumps(run_job(tool, name)))
        case ["overhead-job", name, repeats]:
            print(json.dumps(overhead_job(name, int(repeats))))
        case [("agreement" | "scale" | "calls" | "overhead") as what]:
            with tee_markdown(markdown):
                {"agreement": agreement, "scale": scale, "calls": calls, "overhead": overhead}[
                    what
                ]()
        case _:
            sys.exit(
                "usage: python -m benchmarks.compare agreement | scale | calls | overhead "
                "[--markdown PATH]"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
