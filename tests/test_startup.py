"""A cold start imports only what the inspection uses.

For a user's own ``file.py:Name`` model (and a YAML config of torch.nn layers) netinspect needs
torch and nothing else heavy: not ``torch._dynamo`` (about as long as ``import torch`` again
on this machine), not torchvision, not triton, not sympy (a fifth of ``import torch``, which
torch's meta kernels import: see torch_compat/sympy_free.py). Each check runs the CLI in a fresh
interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.torch_features import SHORTCUTS_REASON, startup_shortcuts_engage

NET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, 16)
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        x = torch.flatten(nn.functional.max_pool2d(self.bn(self.conv(x)).relu(), 2), 1)
        return self.norm(self.fc(x)).softmax(-1)
"""

HEAVY = ("torch._dynamo", "torchvision", "triton", "sympy")


def require_shortcuts() -> None:
    if not startup_shortcuts_engage():
        pytest.skip(SHORTCUTS_REASON)


def imported_after(args: list[str], cwd: Path) -> set[str]:
    """Which of HEAVY are in sys.modules after ``netinspect ARGS`` ran in a fresh process."""
    code = (
        "import sys\n"
        "from netinspect_cli.main import main\n"
        f"sys.argv = ['netinspect', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        f"print('HEAVY:' + ' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("HEAVY:")]
    return set(line.removeprefix("HEAVY:").split())


def test_a_file_model_imports_no_dynamo_torchvision_triton_or_sympy(tmp_path: Path) -> None:
    require_shortcuts()
    (tmp_path / "net.py").write_text(NET)
    # Conv, BatchNorm, Linear and LayerNorm on the meta device: torch runs several of their
    # meta kernels in Python, behind wrappers that would import torch._dynamo.
    assert imported_after(["net.py:Net", "--input", "1x3x8x8"], tmp_path) == set()


def test_a_torch_nn_config_imports_no_dynamo_torchvision_triton_or_sympy(tmp_path: Path) -> None:
    require_shortcuts()
    config = Path(__file__).parents[1] / "configs" / "mlp.yaml"
    assert imported_after([str(config)], tmp_path) == set()


def test_the_pass_leaves_torch_kernels_as_it_found_them() -> None:
    import torch
    from torch import nn

    from netinspect.pipeline.run import inspect_model
    from netinspect.torch_compat.dynamo_free import _guarded_functions

    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    report = inspect_model(model, ["2x4"], device="meta", fast_imports=True)
    assert report.outputs == ((2, 4),)
    guarded = _guarded_functions()
    if not guarded:
        # torch 2.4 to 2.6 wrap no meta kernel this way: there is nothing to leave behind.
        assert torch.__version__ < (2, 9), "torch's _disable_dynamo wrappers were not found"
    # Nothing of ours stays behind: a later torch.compile finds torch's own wrappers.
    assert not [f for f in guarded if getattr(f, "__dynamo_disable", None) is f]
    assert isinstance(torch.ops.aten.addmm.default, torch._ops.OpOverload)


def test_flop_counter_still_accepts_triton_kernels() -> None:
    pytest.importorskip("triton")
    import torch.utils.flop_counter

    if not hasattr(torch.utils.flop_counter, "_JITFunction"):
        pytest.skip("this torch's flop counter does not import triton")
    code = (
        "import sys\n"
        "from netinspect.torch_compat.flop_counter import import_flop_counter\n"
        "fc = import_flop_counter(hide_triton=True)\n"
        "assert 'triton' not in sys.modules\n"
        "from triton.runtime.jit import JITFunction\n"
        "assert not isinstance(1, fc._JITFunction)\n"
        "assert isinstance(JITFunction.__new__(JITFunction), fc._JITFunction)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


@pytest.mark.parametrize("command", [[], ["snapshot"]], ids=["inspect", "snapshot"])
def test_a_hostile_config_is_refused_before_torch_is_imported(
    tmp_path: Path, command: list[str]
) -> None:
    # `netinspect CONFIG` imported torch (about 3 s, 600 MiB) before reading the config, so a
    # YAML bomb cost that much before its one-line refusal; `validate` already read it first.
    lines = ["a0: &a0 {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}"]
    lines += [f"a{i}: &a{i} {{x: {{<<: *a{i - 1}}}, y: {{<<: *a{i - 1}}}}}" for i in range(1, 14)]
    (tmp_path / "bomb.yaml").write_text("\n".join([*lines, "layers: [Flatten]"]) + "\n")
    code = (
        "import sys\n"
        "from netinspect_cli.main import main\n"
        f"sys.argv = ['netinspect', *{command!r}, 'bomb.yaml']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    print('EXIT:', exc.code)\n"
        "print('TORCH:', 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert "EXIT: 2\nTORCH: False" in done.stdout, (done.stdout, done.stderr)
    assert "config refused: it expands to more than 50,000 values" in done.stderr
