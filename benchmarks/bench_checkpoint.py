"""Checkpoint inspection: time and peak memory of ``netinspect FILE`` in a fresh process.

    python -m benchmarks.bench_checkpoint [--repeat 3]

Each row is the median of ``--repeat`` runs of the installed CLI (the ``netinspect`` beside
this Python) under ``/usr/bin/time -v``: wall time and maximum resident set size. Files are
made in a temporary directory:

- a 70B-class decoder's sharded safetensors index: 4 shards, 723 bf16 tensors, 141 GB
  declared; the shards hold their headers and a sparse data region (``truncate``), so the
  files take a few hundred kB of disk. The goal: under 2 s and 200 MB.
- alexnet and resnet18 state dicts saved on meta (names and shapes; no data), with the
  architecture named from torchvision's zoo (the search builds candidates on meta).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.markdown_out import add_markdown_option, tee_markdown

HERE = Path(__file__).resolve().parents[1]


def measure(args: list[str], repeat: int) -> tuple[float, float]:
    """Median wall seconds and peak RSS in MB of ``netinspect ARGS``."""
    cli = str(Path(sys.executable).with_name("netinspect"))
    walls, peaks = [], []
    for _ in range(repeat):
        done = subprocess.run(
            ["/usr/bin/time", "-v", cli, *args], capture_output=True, text=True, cwd=HERE
        )
        if done.returncode != 0:
            raise SystemExit(f"netinspect {' '.join(args)} failed: {done.stderr[-2000:]}")
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        assert wall is not None and rss is not None, done.stderr
        hours, minutes, seconds = wall.groups()
        walls.append(int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds))
        peaks.append(int(rss.group(1)) / 1024)
    return statistics.median(walls), statistics.median(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        _report(args.repeat)


def _report(repeat: int) -> None:
    if not Path("/usr/bin/time").exists():
        raise SystemExit("needs /usr/bin/time (GNU time) for the peak memory")
    sys.path.insert(0, str(HERE))
    import torch

    from tests.checkpoint_files import llm_shards, meta_state

    work = Path(tempfile.mkdtemp(prefix="netinspect-ckpt-"))
    try:
        index, declared = llm_shards(work)
        disk = sum(p.stat().st_blocks * 512 for p in work.iterdir())
        torch.save(meta_state("alexnet", num_classes=3), work / "alexnet3.pth")
        torch.save({"module." + k: v for k, v in meta_state("resnet18").items()}, work / "r18.pth")
        print(f"Index: {declared / 1e9:,.1f} GB declared, {disk / 1e3:,.0f} kB on disk.")
        print(f"Median of {repeat} fresh processes under /usr/bin/time -v.\n")
        print("| what | wall (s) | peak RSS (MB) |")
        print("|---|---:|---:|")
        for label, args in (
            ("140 GB sharded index, table", [str(index)]),
            ("140 GB sharded index, json", [str(index), "-f", "json"]),
            ("alexnet 3-class `.pth` (names torchvision alexnet)", [str(work / "alexnet3.pth")]),
            ("resnet18 `module.`-prefixed `.pth`", [str(work / "r18.pth")]),
        ):
            wall, peak = measure(args, repeat)
            print(f"| {label} | {wall:.2f} | {peak:.0f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
