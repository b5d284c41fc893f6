"""Hostile inputs, before and after their limits: not a timed test.

    python -m benchmarks.bench_hostile [--before PATH] [--rows 12000,120000] [--weights-mb 1600]

Every measurement runs in its own subprocess under an address-space limit (8 GiB), with
``PYTHONPATH`` set to the netinspect tree being measured: this checkout, and with
``--before PATH`` also an older tree (``git archive 74d7749 | tar -x -C PATH``), so both rows
of a table come from one run on one machine. A job that runs out of time or memory is
reported as such. Files are generated in a temporary directory:

- diff: two saved reports of N rows, ``nn.Sequential`` of N/4 blocks, each a ``Sequential`` of
  Linear, ReLU, Dropout; the second with one block inserted at a third (renumbering every
  later block) and one block reshaped; the time to read both files and the time to align their rows (what ``compare_reports``
  does).
- yaml: the 579-byte merge-key bomb (23 levels), a 100,000-deep list, a 300 KB file;
  the time and peak RSS of ``read_config``.
- weights: a state dict of one float32 tensor (``--weights-mb``) for a ``Linear`` that holds
  it, loaded on meta with ``inspect_model(..., weights=...)``; then the same file re-zipped
  with DEFLATE. Peak RSS includes torch's import (the "imports only" row).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

from benchmarks.markdown_out import add_markdown_option, tee_markdown

LIMIT_BYTES = 8 * 1024**3
HERE = Path(__file__).resolve().parents[1]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def run(tree: Path, code: str, timeout: float) -> dict[str, Any]:
    """Run ``code`` (which prints one JSON line) with ``tree`` first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # `python -c` puts the current directory first on sys.path: run it from a neutral one, and
    # check which netinspect was imported.
    check = f"import netinspect; assert netinspect.__file__.startswith({str(tree)!r})\n"
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", check + textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=tempfile.gettempdir(),
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:120], "wall": time.perf_counter() - start}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


PEAK = "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024"


def write_reports(directory: Path, rows: int) -> tuple[Path, Path]:
    def layer(name: str, kind: str, width: int) -> dict[str, Any]:
        shape = [[1, width]]
        params = width * width + width if kind == "Linear" else 0
        return {
            "name": name, "call_index": 0, "kind": "module", "type": kind,
            "input_shapes": shape, "output_shapes": shape, "params": params,
            "trainable_params": params,
        }  # fmt: skip

    def report(insert: bool) -> dict[str, Any]:
        # nn.Sequential(*blocks), each block nn.Sequential(Linear, ReLU, Dropout): 4 rows per
        # block (the block, then its children), numbered by position, so the inserted block
        # renumbers every block after it (blocks.k -> blocks.k+1, blocks.k.0 -> blocks.k+1.0).
        count = rows // 4
        widths = [8] * count
        if insert:
            widths.insert(count // 3, 8)
            widths[2 * count // 3] = 9
        layers = [layer("", "Sequential", 8)]
        for k, width in enumerate(widths):
            layers.append(layer(f"blocks.{k}", "Sequential", width))
            kinds = ("Linear", "ReLU", "Dropout")
            layers += [layer(f"blocks.{k}.{j}", kind, width) for j, kind in enumerate(kinds)]
        return {
            "schema_version": 1, "inputs": [{"name": "input0", "shape": [1, 8], "dtype": "float32"}],
            "layers": layers, "flatten": None, "outputs": [[1, 8]], "error": None,
            "totals": {"params": sum(r["params"] for r in layers)},
        }  # fmt: skip

    old, new = directory / f"old{rows}.json", directory / f"new{rows}.json"
    old.write_text(json.dumps(report(False)))
    new.write_text(json.dumps(report(True)))
    return old, new


def bench_diff(trees: dict[str, Path], directory: Path, rows: list[int]) -> None:
    print("\n## diff: compare_reports on two saved reports (one block inserted, one reshaped)")
    print("| rows | " + " | ".join(trees) + " |")
    print("|---|" + "---|" * len(trees))
    for n in rows:
        old, new = write_reports(directory, n)
        code = f"""
            import json, time
            from netinspect.compare.diff import _layer_view, align_layers
            from netinspect.compare.reports import read_comparable_json
            start = time.perf_counter()
            old, new = read_comparable_json({str(old)!r}), read_comparable_json({str(new)!r})
            loaded = time.perf_counter()
            rows = align_layers([_layer_view(r) for r in old["layers"]],
                                [_layer_view(r) for r in new["layers"]])
            aligned = time.perf_counter()
            counts = {{}}
            for row in rows:
                counts[row.status] = counts.get(row.status, 0) + 1
            print(json.dumps({{"load": loaded - start, "align": aligned - loaded,
                              "counts": counts}}))
        """
        cells = []
        for tree in trees.values():
            result = run(tree, code, timeout=900)
            if "error" in result:
                cells.append(result["error"])
            else:
                counts = ", ".join(f"{v} {k}" for k, v in sorted(result["counts"].items()))
                cells.append(
                    f"align {result['align']:.2f} s (read {result['load']:.1f} s; {counts})"
                )
        print(f"| {n:,} | " + " | ".join(cells) + " |")


def bench_yaml(trees: dict[str, Path], directory: Path) -> None:
    items = ["&a0 {x0: 1}"] + [f"&a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, 23)]
    bomb = directory / "bomb.yaml"
    bomb.write_text("<<: [" + ", ".join(items) + "]\nlayers: [ReLU]\n")
    deep = directory / "deep.yaml"
    deep.write_text("layers: " + "[" * 100_000 + "]" * 100_000 + "\n")
    big = directory / "big.yaml"
    big.write_text("x: [" + ", ".join(["1"] * 150_000) + "]\nlayers: [ReLU]\n")
    print("\n## YAML: read_config (time, peak RSS of the process, outcome)")
    print("| file | " + " | ".join(trees) + " |")
    print("|---|" + "---|" * len(trees))
    for label, path in (
        (f"merge-key bomb, {bomb.stat().st_size} bytes", bomb),
        ("100,000-deep list", deep),
        (f"150,000-item list, {big.stat().st_size // 1024} KiB", big),
    ):
        code = f"""
            import json, resource, time
            from netinspect.sources.config import read_config
            start = time.perf_counter()
            try:
                read_config({str(path)!r})
                outcome = "read"
            except Exception as exc:
                outcome = type(exc).__name__ + ": " + str(exc).split(": ")[-1][:60]
            print(json.dumps({{"seconds": time.perf_counter() - start, "rss": {PEAK},
                              "outcome": outcome}}))
        """
        cells = []
        for tree in trees.values():
            r = run(tree, code, timeout=300)
            cells.append(
                r["error"]
                if "error" in r
                else f"{r['seconds']:.2f} s, {r['rss']:.0f} MiB, {r['outcome']}"
            )
        print(f"| {label} | " + " | ".join(cells) + " |")


def bench_weights(trees: dict[str, Path], directory: Path, megabytes: int) -> None:
    features = int((megabytes * 1024**2 / 4) ** 0.5)
    model = directory / "big_linear.py"
    model.write_text(
        "from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        f"        super().__init__()\n        self.fc = nn.Linear({features}, {features}, bias=False)\n\n"
        "    def forward(self, x):\n        return self.fc(x)\n"
    )
    plain = directory / "big.pt"
    make = f"""
        import torch
        torch.save({{"fc.weight": torch.zeros({features}, {features})}}, {str(plain)!r})
        print("{{}}")
    """
    run(HERE, make, timeout=600)
    bomb = directory / "bomb.pt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    size_mb = plain.stat().st_size / 1024**2
    print(
        f"\n## --weights on meta: Linear({features}, {features}), {size_mb:,.0f} MiB "
        f"state dict; DEFLATE copy {bomb.stat().st_size / 1024**2:.1f} MiB (peak RSS, time)"
    )
    print("| case | " + " | ".join(trees) + " |")
    print("|---|" + "---|" * len(trees))
    for label, weights in (("imports + inspect, no weights", None), ("state dict", plain),
                           ("DEFLATE copy", bomb)):  # fmt: skip
        code = f"""
            import json, resource, time
            import torch
            from netinspect.pipeline.run import inspect_model
            start = time.perf_counter()
            try:
                inspect_model({str(model) + ":Net"!r}, ["1x{features}"], weights={str(weights) if weights else None!r})
                outcome = "loaded"
            except Exception as exc:
                outcome = "refused" if "expand" in str(exc) else type(exc).__name__
            print(json.dumps({{"seconds": time.perf_counter() - start, "rss": {PEAK},
                              "outcome": outcome}}))
        """
        cells = []
        for tree in trees.values():
            r = run(tree, code, timeout=600)
            cells.append(
                r["error"]
                if "error" in r
                else f"{r['rss']:,.0f} MiB, {r['seconds']:.2f} s, {r['outcome']}"
            )
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an older netinspect tree to compare with")
    parser.add_argument("--rows", default="12000,120000")
    parser.add_argument("--weights-mb", type=int, default=1600)
    parser.add_argument("--only", choices=("diff", "yaml", "weights"))
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        trees = {"before": args.before} if args.before else {}
        trees["this tree"] = HERE
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            if args.only in (None, "diff"):
                bench_diff(trees, directory, [int(r) for r in args.rows.split(",")])
            if args.only in (None, "yaml"):
                bench_yaml(trees, directory)
            if args.only in (None, "weights"):
                bench_weights(trees, directory, args.weights_mb)


if __name__ == "__main__":
    main()
