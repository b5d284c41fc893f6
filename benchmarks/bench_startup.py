"""Cold start: `netinspect` end to end against the bare imports it cannot avoid.

    python -m benchmarks.bench_startup [--repeats 7]

For a user's own model (`file.py:Net`, plain torch.nn) the floor is `python -c "import torch"`;
for a torchvision name it is `python -c "import torch, torchvision"`. A third row shows the
least any meta-device tool must do for the same model: build it on meta and run one forward
(torch's meta kernels import sympy, and their wrappers torch._dynamo, on the way). Each command runs
`--repeats` times in fresh processes, the four commands interleaved so that a change in machine
load hits them alike; the table shows medians and the ratios. The goals are 1.2x
and 1.1x. All rows come from one run of this script (shared machine: compare ratios).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.markdown_out import add_markdown_option, tee_markdown

NET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.head = nn.Sequential(nn.Linear(16 * 16 * 16, 64), nn.LayerNorm(64), nn.Linear(64, 10))

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))
"""

HEAVY = ("torch._dynamo", "torchvision", "sympy", "triton", "pydantic")

BARE = (
    "import torch\nfrom net import Net\nwith torch.device('meta'):\n    model = Net().eval()\n"
    "with torch.no_grad():\n    model(torch.zeros(1, 3, 32, 32, device='meta'))\n"
)


def netinspect_command() -> list[str]:
    exe = shutil.which("netinspect", path=str(Path(sys.executable).parent)) or shutil.which(
        "netinspect"
    )
    return [exe] if exe else [sys.executable, "-m", "netinspect_cli.main"]


def timed(command: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - start


def heavy_imports(args: list[str], cwd: str) -> list[str]:
    """Which of HEAVY a run of `netinspect ARGS` imports."""
    code = (
        "import sys\nfrom netinspect_cli.main import main\n"
        f"sys.argv = ['netinspect', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("HEAVY:")]
    return [m for m in line.removeprefix("HEAVY:").split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    add_markdown_option(parser)
    args = parser.parse_args()
    with tee_markdown(args.markdown):
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "net.py").write_text(NET)
            file_args = ["net.py:Net", "--input", "1x3x32x32"]
            commands = {
                "import torch": [sys.executable, "-c", "import torch"],
                "netinspect net.py:Net": [*netinspect_command(), *file_args],
                "bare meta build + forward of net.py:Net": [sys.executable, "-c", BARE],
                "import torch, torchvision": [sys.executable, "-c", "import torch, torchvision"],
                "netinspect resnet18": [*netinspect_command(), "resnet18"],
            }
            times: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.repeats):
                for name, command in commands.items():
                    times[name].append(timed(command, tmp))
            median = {name: statistics.median(values) for name, values in times.items()}
            imported = {
                "netinspect net.py:Net": heavy_imports(file_args, tmp),
                "netinspect resnet18": heavy_imports(["resnet18"], tmp),
            }
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"medians of {args.repeats} runs each, interleaved; load average {load:.1f}")
        print("| command | median s | floor | ratio | goal | also imported |")
        print("|---|---:|---|---:|---:|---|")
        bare = "bare meta build + forward of net.py:Net"
        for name, floor, goal in (
            ("netinspect net.py:Net", "import torch", 1.2),
            ("netinspect resnet18", "import torch, torchvision", 1.1),
        ):
            print(f'| `python -c "{floor}"` | {median[floor]:.2f} | | | | |')
            if floor == "import torch":
                ratio = median[bare] / median[floor]
                print(f"| {bare} | {median[bare]:.2f} | {floor} | {ratio:.2f}x | | |")
            ratio = median[name] / median[floor]
            print(
                f"| `{name}` | {median[name]:.2f} | {floor} | {ratio:.2f}x | {goal}x | "
                f"{', '.join(imported[name]) or '-'} |"
            )


if __name__ == "__main__":
    main()
