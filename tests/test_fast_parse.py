"""Typer's pydantic checks built only when a value needs them (cli/fast_parse.py).

Every parameter of the app's tree must parse to what typer's own check gives: for a value not
given, for plain strings, and for the values that still go through pydantic (ints, choices,
paths), with typer's own error for a bad one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from netinspect_cli.fast_parse import _lazy_check_class, _params, lazy_checks
from netinspect_cli.main import app
from typer.testing import CliRunner

pytestmark = pytest.mark.skipif(
    _lazy_check_class() is None, reason="this typer does not check values with pydantic"
)


def fresh_tree() -> list[Any]:
    group = typer.main.get_command(app)
    assert lazy_checks(group) > 30
    return _params(group)


def typers_own(param: Any, value: Any) -> Any:
    from typer._coercion import build_runtime_param

    return build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=None)


def test_every_parameter_gets_the_lazy_check_and_answers_as_typer_would() -> None:
    params = fresh_tree()
    lazy = _lazy_check_class()
    checked = [p for p in params if isinstance(p._runtime_param, lazy)]
    names = {p.name for p in checked}
    assert {"model", "inputs", "device", "help", "depth", "fmt", "output"} <= names
    for param in checked:
        annotation = param.type_descriptor.annotation
        ours = param._runtime_param
        assert ours.coerce(None, param=param, ctx=None) == typers_own(param, None), param.name
        if annotation is str:
            assert ours.coerce("x:1,y=2", param=param, ctx=None) == typers_own(param, "x:1,y=2")
        if annotation == list[str] and (param.multiple or param.nargs == -1):
            value = ("1x3x8x8", "text=1x10")
            assert ours.coerce(value, param=param, ctx=None) == typers_own(param, value)
            assert type(ours.coerce(value, param=param, ctx=None)) is list


def test_other_values_still_go_through_typers_own_check() -> None:
    params = {p.name: p for p in fresh_tree() if p.name in ("depth", "fmt", "output")}
    lazy = _lazy_check_class()
    assert params["depth"].get_runtime_param().coerce("3", param=params["depth"], ctx=None) == 3
    assert not isinstance(params["depth"]._runtime_param, lazy)  # typer's own from now on
    fmt = params["fmt"]
    assert fmt.get_runtime_param().coerce("json", param=fmt, ctx=None).value == "json"
    out = params["output"]
    assert out.get_runtime_param().coerce("r.json", param=out, ctx=None) == Path("r.json")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["vgg16", "--depth", "abc"], "Invalid value for '--depth': Input should be a valid"),
        (["vgg16", "--depth", "-1"], "greater than or equal to 0"),
        (["vgg16", "--format", "yaml"], "'yaml' is not one of 'table', 'json'"),
    ],
)
def test_bad_values_get_typers_own_message(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(app, ["inspect", *args])
    assert result.exit_code == 2
    assert fragment in result.output


def test_a_plain_command_line_imports_no_pydantic(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "from torch import nn\n\nclass M(nn.Sequential):\n"
        "    def __init__(self):\n        super().__init__(nn.Linear(4, 2))\n"
    )
    code = (
        "import sys\nfrom netinspect_cli.main import main\n"
        "sys.argv = ['netinspect', 'm.py:M', '--input', '2x4', '--device', 'meta']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "print('PYDANTIC:', 'pydantic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "PYDANTIC: False" in done.stdout, done.stdout
    assert "[2, 2]" in done.stdout
