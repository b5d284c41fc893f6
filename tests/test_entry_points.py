"""``python -m netinspect`` is the ``netinspect`` script; the optional sources import their
library only when their prefix is used, and say what to install when it is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET = "tests/models/policy_models.py:MaskAny"
ARGS = [TARGET, "-i", "x=2x8", "-i", "mask=2x8:ones", "-f", "json"]


def script() -> str:
    found = Path(sys.executable).parent / "netinspect"
    path = str(found) if found.exists() else shutil.which("netinspect")
    if path is None:
        pytest.skip("the netinspect script is not installed")
    return path


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_python_m_netinspect_is_the_script() -> None:
    by_module = run([sys.executable, "-m", "netinspect", *ARGS])
    by_script = run([script(), *ARGS])
    assert by_module.returncode == by_script.returncode == 0
    module_report, script_report = json.loads(by_module.stdout), json.loads(by_script.stdout)
    assert module_report == script_report
    assert by_module.stderr == by_script.stderr
    # The same one-line error and exit code for a bad request (found before torch loads).
    bad_module = run([sys.executable, "-m", "netinspect", TARGET, "--arg", "oops"])
    bad_script = run([script(), TARGET, "--arg", "oops"])
    assert bad_module.returncode == bad_script.returncode == 2
    assert bad_module.stderr == bad_script.stderr
    assert run([sys.executable, "-m", "netinspect", "--version"]).stdout.startswith("netinspect ")


def test_missing_extras_say_what_to_install_and_nothing_is_imported_early() -> None:
    check = textwrap.dedent(
        """
        import json, sys
        from netinspect.pipeline.run import inspect_model
        inspect_model("tests/models/policy_models.py:MaskAny", ["x=2x8", "mask=2x8:ones"])
        early = sorted(m for m in ("timm", "transformers", "torchvision") if m in sys.modules)
        sys.modules["timm"] = None  # as if not installed
        sys.modules["transformers"] = None
        import netinspect_cli.main
        from netinspect_cli.app import app
        from typer.testing import CliRunner
        runner = CliRunner()
        out = {"early": early}
        for target in ("timm:resnet18", "hf:bert"):
            result = runner.invoke(app, ["inspect", target])
            out[target] = [result.exit_code, result.stderr]
        print(json.dumps(out))
        """
    )
    done = run([sys.executable, "-c", check])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    # A file model pulls in neither optional library (nor torchvision).
    assert out["early"] == []
    assert out["timm:resnet18"] == [
        2,
        "netinspect: error: timm:resnet18 needs timm, which is not installed here: "
        'pip install timm (in a netinspect checkout: pip install -e ".[timm]")\n',
    ]
    assert out["hf:bert"] == [
        2,
        "netinspect: error: hf:bert needs transformers, which is not installed here: "
        'pip install transformers (in a netinspect checkout: pip install -e ".[hf]")\n',
    ]
