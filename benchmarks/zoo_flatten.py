"""Dump, for every torchvision model, its flatten point and parameter totals as JSON lines.

    timeout 1800 python -m benchmarks.zoo_flatten > after.jsonl
    python -m benchmarks.zoo_flatten --diff before.jsonl after.jsonl

Used to check that a change to capture or to the flatten analysis keeps the 121 zoo models'
flatten points and totals (run once on the old code, once on the new, then ``--diff``). Each
model is inspected with its default input on the default device (meta, cpu where meta cannot
run), like ``tests/test_zoo.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from typing import Any


def _models() -> list[str]:
    import torchvision.models as tvm

    families = [tvm, tvm.detection, tvm.segmentation, tvm.video, tvm.optical_flow]
    families.append(tvm.quantization)
    return sorted({name for f in families for name in tvm.list_models(module=f)})


def summarise(name: str) -> dict[str, Any]:
    from netinspect import inspect_model

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = inspect_model(name)
    except Exception as exc:  # a failing model is a result too
        return {"name": name, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    flat = report.flatten
    consumer = flat.consumer if flat is not None else None
    return {
        "name": name,
        "device": report.device,
        "flatten": None
        if flat is None
        else [flat.name, flat.type, list(flat.input_shape), list(flat.output_shape)],
        "consumer": None if consumer is None else [consumer.name, consumer.matches],
        "params": report.totals.params,
        "rows_params": sum(r.params for r in report.layers),
        "uncalled_params": report.totals.uncalled_params,
        "root_params": report.layers[0].params if report.layers else 0,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def diff(before_path: str, after_path: str) -> int:
    def load(path: str) -> dict[str, dict[str, Any]]:
        with open(path) as f:
            return {d["name"]: d for d in map(json.loads, f)}

    before, after = load(before_path), load(after_path)
    keys = ("flatten", "params", "error")
    changed = 0
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name, {}), after.get(name, {})
        diffs = {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}
        if diffs:
            changed += 1
            print(name, diffs)
    info = ("consumer", "rows_params", "root_params")
    for name in sorted(before.keys() & after.keys()):
        a, b = before[name], after[name]
        diffs = {k: (a.get(k), b.get(k)) for k in info if a.get(k) != b.get(k)}
        if diffs:
            print("(info)", name, diffs)
    print(f"{len(after)} models; {changed} differ in flatten point, totals or errors")
    return 1 if changed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diff", nargs=2, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--models", help="comma-separated subset")
    args = parser.parse_args()
    if args.diff:
        sys.exit(diff(*args.diff))
    names = args.models.split(",") if args.models else _models()
    for name in names:
        print(json.dumps(summarise(name)), flush=True)


if __name__ == "__main__":
    main()
