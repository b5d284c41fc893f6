"""``netinspect check --shard I/N``: a deterministic split of the targets for CI matrix jobs."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from netinspect_cli import main as _registers_commands  # noqa: F401
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.compare.baseline import CheckTarget
from netinspect.compare.check import Shard, parse_shard, select_shard
from netinspect.errors import UsageError
from tests.test_check_cli import write_net


def targets(*names: str) -> list[CheckTarget]:
    return [CheckTarget(target=n, location=n) for n in names]


def names(items: list[CheckTarget]) -> list[str]:
    return [i.target for i in items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), ("3/3", Shard(3, 3)), (" 1 / 4 ", Shard(1, 4))],
)
def test_parse_shard(text: str, expected: Shard) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0/3", "between 1 and 3"),
        ("4/3", "between 1 and 3"),
        ("1/0", "at least 1"),
        ("3", "expected I/N"),
        ("a/b", "expected I/N"),
        ("-1/3", "expected I/N"),
        ("1/3/5", "expected I/N"),
        ("", "expected I/N"),
    ],
)
def test_parse_shard_refuses(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_shard(text)


def test_round_robin_over_sorted_targets() -> None:
    # By hand: sorted = a.yaml, b.yaml, c.yaml, d.yaml, vgg16; dealt over 2 shards.
    items = targets("vgg16", "m/c.yaml", "m/a.yaml", "m/d.yaml", "m/b.yaml")
    assert names(select_shard(items, Shard(1, 2))) == ["m/a.yaml", "m/c.yaml", "vgg16"]
    assert names(select_shard(items, Shard(2, 2))) == ["m/b.yaml", "m/d.yaml"]
    assert names(select_shard(items, Shard(1, 1))) == sorted(names(items))


def test_split_is_a_partition_whatever_the_order() -> None:
    items = targets("vgg16", "resnet18", "m/a.yaml", "m/b.py:Net", "./m/c.yaml", "alexnet", "x:Y")
    for count in range(1, 9):
        expected = [names(select_shard(items, Shard(i, count))) for i in range(1, count + 1)]
        # Every target in exactly one shard; sizes differ by at most one.
        flat = [n for part in expected for n in part]
        assert sorted(flat) == sorted(names(items))
        assert max(map(len, expected)) - min(map(len, expected)) <= 1
        for order in itertools.islice(itertools.permutations(items), 0, 5040, 97):
            got = [names(select_shard(list(order), Shard(i, count))) for i in range(1, count + 1)]
            assert got == expected


def test_duplicate_spellings_count_once() -> None:
    # ./m/a.yaml and m/a.yaml name one baseline, so they are one target.
    items = targets("./m/a.yaml", "m/a.yaml", "m/b.yaml")
    shards = [names(select_shard(items, Shard(i, 2))) for i in (1, 2)]
    assert shards == [["./m/a.yaml"], ["m/b.yaml"]]


# --- through the CLI --------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three model files listed in pyproject.toml (in an order that is not sorted)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    for name in ("a", "b", "c"):
        write_net(tmp_path / "models" / f"{name}.py")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.netinspect]\n"
        'targets = ["models/c.py:Net", "models/a.py:Net", "models/b.py:Net"]\n'
        "[tool.netinspect.inputs]\n"
        '"models/a.py:Net" = ["1x3x8x8"]\n"models/b.py:Net" = ["1x3x8x8"]\n'
        '"models/c.py:Net" = ["1x3x8x8"]\n',
        encoding="utf-8",
    )
    assert run("snapshot").exit_code == 0
    return tmp_path


def checked(result: Any) -> list[str]:
    return [r["target"] for r in json.loads(result.stdout)["results"]]


def test_cli_shards_partition_the_project_targets(project: Path) -> None:
    first = run("check", "--shard", "1/2", "--format", "json")
    second = run("check", "--shard", "2/2", "--format", "json")
    assert first.exit_code == 0 and second.exit_code == 0
    # Sorted a, b, c dealt over two shards: a and c, then b.
    assert checked(first) == ["models/a.py:Net", "models/c.py:Net"]
    assert checked(second) == ["models/b.py:Net"]
    assert "shard 1/2: 2 of 3 target(s): models/a.py:Net, models/c.py:Net" in first.stderr


def test_cli_shard_of_named_targets_ignores_their_order(project: Path) -> None:
    a = run("check", "models/b.py:Net", "models/a.py:Net", "--shard", "1/2", "-f", "json")
    b = run("check", "models/a.py:Net", "models/b.py:Net", "--shard", "1/2", "-f", "json")
    assert checked(a) == checked(b) == ["models/a.py:Net"]


def test_cli_regression_is_reported_only_by_its_shard(project: Path) -> None:
    write_net(project / "models" / "b.py", classes=5)
    assert run("check", "--shard", "1/2").exit_code == 0
    result = run("check", "--shard", "2/2")
    assert result.exit_code == 1
    assert "REGRESSION" in result.stdout and "models/b.py:Net" in result.stdout


def test_cli_empty_shard_passes(project: Path) -> None:
    result = run("check", "--shard", "4/4")
    assert result.exit_code == 0
    assert "shard 4/4: 0 of 3 target(s)" in result.stderr
    assert result.stdout == "0 target(s) checked.\n"


@pytest.mark.parametrize("value", ["0/2", "3/2", "2", "x/2", "1/0"])
def test_cli_bad_shard_is_one_line_exit_2(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("check", "vgg16", "--shard", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("netinspect: error: --shard")
