"""Real-size Hugging Face models under ``--device auto`` (not a timed test):

    python -m benchmarks.bench_sources            # every case, a table on stdout
    python -m benchmarks.bench_sources --json     # the raw numbers

Each case runs in its own subprocess (under ``timeout``), so its peak RSS is its own. Times
exclude the imports (torch, transformers, netinspect), which the "imports only" row measures.
The cases are the defaults of ``AutoConfig.for_model``: Llama's is the Llama-2-7B shape (32
layers, hidden 4096, 6.6 B parameters, 24.6 GiB in float32) and Mixtral's is Mixtral-8x7B
(46.7 B parameters, 173 GiB). Both get ``input_ids`` 1x128 and an all-ones
``attention_mask``, whose ``.all()`` check meta tensors cannot answer: the device policy runs
them with real inputs beside meta weights.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

from benchmarks.markdown_out import add_markdown_option, tee_markdown

CASES = {
    "imports only": None,
    "Llama-2-7B (hf:llama)": "hf:llama",
    "Llama-2-7B causal LM (hf:llama,task=causal-lm)": "hf:llama,task=causal-lm",
    "Mixtral-8x7B (hf:mixtral)": "hf:mixtral",
}
TIMEOUT_S = 900


def run_case(target: str | None) -> dict[str, Any]:
    """One case in this process."""
    import torch  # noqa: F401  (imports are paid before the clock starts)
    import transformers  # noqa: F401

    from netinspect.pipeline.run import inspect_model

    if target is None:
        return {"seconds": 0.0, "peak_rss_mib": _peak_rss_mib()}
    start = time.perf_counter()
    report = inspect_model(target)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "device": report.device,
        "params": report.totals.params,
        "param_gib": report.totals.param_bytes / 1024**3,
        "flops": report.totals.flops,
        "outputs": [list(s) for s in report.outputs],
        "notes": list(report.notes),
    }


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(target: str | None) -> dict[str, Any]:
    code = (
        "import json, sys; from benchmarks.bench_sources import run_case; "
        f"print(json.dumps(run_case({target!r})))"
    )
    start = time.perf_counter()
    try:
        done = subprocess.run(
            ["timeout", str(TIMEOUT_S), sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        return {"error": str(exc)}
    wall = time.perf_counter() - start
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1], "wall_seconds": wall}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw numbers")
    add_markdown_option(parser)
    args = parser.parse_args()
    results = {label: measure(target) for label, target in CASES.items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    with tee_markdown(args.markdown):
        print_table(results)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    print("| case | params | float32 size | device | inspect (s) | process (s) | peak RSS (MiB) |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for label, r in results.items():
        if "error" in r:
            print(f"| {label} | error: {r['error']} | | | | | |")
            continue
        params = f"{r['params'] / 1e9:.2f} B" if "params" in r else ""
        size = f"{r['param_gib']:.1f} GiB" if "param_gib" in r else ""
        print(
            f"| {label} | {params} | {size} | {r.get('device', '')} | {r['seconds']:.1f} | "
            f"{r['wall_seconds']:.1f} | {r['peak_rss_mib']:,.0f} |"
        )
    for label, r in results.items():
        for note in r.get("notes", ()):
            print(f"\n{label}: {note}")


if __name__ == "__main__":
    main()
