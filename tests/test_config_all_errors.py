"""A config with several mistakes reports every one, in file order, as linters do."""

from __future__ import annotations

from pathlib import Path

import pytest
from netinspect_cli import main as _registers_commands  # noqa: F401
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import ConfigError, ConfigErrors
from netinspect.sources.config import load_config

BAD = """\
version: 1
nmae: oops
layers:
  - Conv2d: [3, 8, 3]
  - Reluu
  - Linear: [8, 10, {bogus_kw: 1}]
  - MaxPool2d: 2
replace:
  "": ReLU
input: [1x3x32x32]
"""


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    return path


def test_every_error_is_gathered_in_file_order(bad: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(str(bad))
    where = [(e.line, e.col) for e in caught.value.errors]
    assert where == [(2, 1), (5, 5), (6, 22), (9, 3)]
    assert "nmae" in caught.value.errors[0].message
    assert "Reluu" in caught.value.errors[1].message
    assert "bogus_kw" in caught.value.errors[2].message
    assert isinstance(caught.value, ConfigError)  # still one ConfigError for callers
    assert str(caught.value).endswith("(and 3 more error(s) in this file)")


def test_one_error_stays_a_plain_config_error(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("layers:\n  - Reluu\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert (caught.value.line, caught.value.col) == (2, 5)
    assert len(getattr(caught.value, "errors", (caught.value,))) == 1


def test_validate_and_inspect_print_one_line_per_error(bad: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    lines = [x for x in result.stdout.splitlines() if x.startswith("invalid: ")]
    assert [x.split(": ")[1].rsplit(":", 2)[1:] for x in lines] == [
        ["2", "1"],
        ["5", "5"],
        ["6", "22"],
        ["9", "3"],
    ]
    result = CliRunner().invoke(app, ["inspect", str(bad)])
    assert result.exit_code == 2
    errors = [x for x in result.stderr.splitlines() if x.startswith("netinspect: error: ")]
    assert len(errors) == 4 and "Reluu" in errors[1]
