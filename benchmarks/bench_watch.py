"""`netinspect watch`: time from saving the model file to the new table on screen.

    python -m benchmarks.bench_watch [--edits 10]

Starts `netinspect watch` on a VGG16 written in plain torch.nn (a user's own file, vgg16-sized:
138,357,544 params, 39 rows) and on `configs/vgg16_keypoints.yaml` (torchvision's VGG16 with
a new head), each in a temporary directory. Each edit rewrites the file (the class count, or the
keypoint count, alternates) and the clock stops when the watcher's line that ends the run
arrives on the pipe: the table has been written before it. Also reports the time of one cold
`netinspect FILE` for the same model, which is what each save would cost without `watch`.
All rows come from one run of this script; compare ratios, not absolute times (shared machine).
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.markdown_out import add_markdown_option, tee_markdown

GOAL_SECONDS = 0.3

VGG16 = """
import torch
from torch import nn

CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


class VGG16(nn.Module):
    def __init__(self, num_classes={classes}):
        super().__init__()
        layers, channels = [], 3
        for v in CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU(inplace=True)]
                channels = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)
"""

ROOT = Path(__file__).resolve().parents[1]


def netinspect_command() -> list[str]:
    exe = shutil.which("netinspect", path=str(Path(sys.executable).parent)) or shutil.which(
        "netinspect"
    )
    return [exe] if exe else [sys.executable, "-m", "netinspect_cli.main"]


def vgg_file(folder: Path, step: int) -> tuple[Path, str]:
    path = folder / "vgg.py"
    return path, VGG16.format(classes=1000 - step % 2)


def keypoints_config(folder: Path, step: int) -> tuple[Path, str]:
    path = folder / "vgg16_keypoints.yaml"
    text = (ROOT / "configs" / "vgg16_keypoints.yaml").read_text()
    return path, text.replace("Linear: [512, 136]", f"Linear: [512, {136 - step % 2}]")


CASES = {
    "vgg16 in a user's file (file.py:VGG16)": (vgg_file, ["vgg.py:VGG16", "-i", "1x3x224x224"]),
    "vgg16_keypoints.yaml (torchvision VGG16)": (keypoints_config, ["vgg16_keypoints.yaml"]),
}


def measure(make, target: list[str], edits: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, text = make(folder, 0)
        path.write_text(text)
        env = {**os.environ, "COLUMNS": "100", "PYTHONDONTWRITEBYTECODE": "1"}
        cold_start = time.perf_counter()
        subprocess.run(
            [*netinspect_command(), *target], cwd=folder, env=env, capture_output=True, check=True
        )
        cold = time.perf_counter() - cold_start
        process = subprocess.Popen(
            [*netinspect_command(), "watch", *target],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        done: queue.Queue[tuple[float, str]] = queue.Queue()

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                if " done in " in line or " failed in " in line or " crashed in " in line:
                    done.put((time.perf_counter(), line.strip()))

        threading.Thread(target=read, daemon=True).start()
        try:
            start = time.perf_counter()
            done.get(timeout=300)
            first = time.perf_counter() - start
            latencies = []
            for step in range(1, edits + 1):
                time.sleep(0.3)  # a person does not save twice in 0.3 s
                _, text = make(folder, step)
                saved = time.perf_counter()
                path.write_text(text)
                arrived, line = done.get(timeout=60)
                if " done in " not in line:
                    raise RuntimeError(f"run after edit {step} did not pass: {line}")
                latencies.append(arrived - saved)
        finally:
            process.send_signal(2)
            process.wait(timeout=30)
    return {
        "cold": cold,
        "first": first,
        "median": statistics.median(latencies),
        "max": max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=10)
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        print(
            "| model | cold `netinspect FILE` s | watch: first table s | "
            f"save -> new table, median of {args.edits} s | max s | goal {GOAL_SECONDS} s |"
        )
        print("|---|---:|---:|---:|---:|---|")
        for label, (make, target) in CASES.items():
            r = measure(make, target, args.edits)
            verdict = "met" if r["max"] <= GOAL_SECONDS else "missed"
            print(
                f"| {label} | {r['cold']:.2f} | {r['first']:.2f} | {r['median']:.3f} | "
                f"{r['max']:.3f} | {verdict} |"
            )


if __name__ == "__main__":
    main()
