"""Every command the README shows is run, and its output must match what the README shows.

A README example is a fenced block whose first line is ``$ netinspect ...``. Each ``$`` line is
a command and the lines under it are its output (stdout and stderr, in the order written, each
line compared without trailing spaces). A line ``...`` stands for any number of lines; without
one at the start or the end, the output must start or end exactly as shown. A trailing
``# exit N`` comment on a command is its expected exit code (0 otherwise). The commands of one
block run in order in one temporary directory that holds a copy of ``configs/``, so a
``snapshot`` there is seen by the ``check`` after it. The ``pycon`` block runs as a doctest.
"""

from __future__ import annotations

import doctest
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from netinspect_cli.main import app, route_default_command
from typer.testing import CliRunner

from tests.torch_features import NOT_SOLVED, SIZES_SOLVED

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXIT = re.compile(r"\s+#\s*exit (\d+)\s*$")
COMMENT = re.compile(r"\s+#.*$")


@dataclass(frozen=True)
class Step:
    command: str
    exit_code: int
    expected: tuple[str, ...]


def fenced_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of every fenced code block."""
    blocks: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"^```(\S*)\s*$", lines[i])
        if match:
            end = lines.index("```", i + 1)
            blocks.append((match.group(1), lines[i + 1 : end]))
            i = end
        i += 1
    return blocks


def examples() -> list[list[Step]]:
    found: list[list[Step]] = []
    for language, lines in fenced_blocks(README.read_text(encoding="utf-8")):
        if language or not lines or not lines[0].startswith("$ netinspect"):
            continue
        steps: list[Step] = []
        for line in lines:
            if line.startswith("$ "):
                exit_match = EXIT.search(line)
                command = COMMENT.sub("", line[2:])
                code = int(exit_match.group(1)) if exit_match else 0
                steps.append(Step(command, code, ()))
            else:
                last = steps[-1]
                steps[-1] = Step(last.command, last.exit_code, (*last.expected, line.rstrip()))
        found.append(steps)
    return found


def matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    """Whether ``actual`` reads as ``expected``, where a ``...`` line is any run of lines."""
    segments: list[list[str]] = [[]]
    for line in expected:
        if line == "...":
            segments.append([])
        else:
            segments[-1].append(line)
    anchored_start, anchored_end = bool(segments[0]), bool(segments[-1])
    at = 0
    for index, segment in enumerate(segments):
        if not segment:
            continue
        width = len(segment)
        if index == 0 and anchored_start:
            if actual[:width] != segment:
                return False
            at = width
            continue
        if index == len(segments) - 1 and anchored_end:
            return len(actual) - width >= at and actual[len(actual) - width :] == segment
        while at + width <= len(actual) and actual[at : at + width] != segment:
            at += 1
        if at + width > len(actual):
            return False
        at += width
    return not anchored_end or at == len(actual)


def run_netinspect(command: str) -> tuple[int, list[str]]:
    argv = shlex.split(command)
    assert argv[0] == "netinspect", command
    group = typer.main.get_command(app)
    commands = set(getattr(group, "commands", {}))
    result = CliRunner().invoke(app, route_default_command(argv[1:], commands))
    return result.exit_code, [line.rstrip() for line in result.output.splitlines()]


EXAMPLES = examples()


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 4
    assert sum(len(steps) for steps in EXAMPLES) >= 6


@pytest.mark.parametrize(
    "steps", EXAMPLES, ids=[steps[0].command.split("#")[0].strip() for steps in EXAMPLES]
)
def test_readme_example(steps: list[Step], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    for step in steps:
        code, lines = run_netinspect(step.command)
        shown = "\n".join(lines)
        assert code == step.exit_code, f"$ {step.command}\n{shown}"
        expected = step.expected
        if not SIZES_SOLVED and any(_VALID_SET.search(line) for line in expected):
            # This torch's fake convolutions add 32-bit indexing conditions: the formulas are
            # the same, the valid set is labelled "not solved" (docs/torch-versions.md).
            expected = without_valid_sets(expected)
            assert f"for every H, W {NOT_SOLVED}" in shown and f"H, W {NOT_SOLVED}" in shown
        assert matches(expected, lines), f"$ {step.command} printed:\n{shown}"


_VALID_SET = re.compile(r"(every|;) H, W ≥ ")


def without_valid_sets(expected: tuple[str, ...]) -> tuple[str, ...]:
    """README's lines with the lines stating a valid set, and the conditions block that
    follows, left open ("..."): what a torch without exact valid sets prints differently."""
    out: list[str] = []
    in_conditions = False
    for line in expected:
        if line.startswith("Conditions"):
            in_conditions = True
        elif in_conditions and not line.startswith(" "):
            in_conditions = False
        changed = in_conditions or bool(_VALID_SET.search(line))
        text = "..." if changed else line
        if not (text == "..." and out and out[-1] == "..."):
            out.append(text)
    return tuple(out)


def test_readme_main_job_is_the_first_example() -> None:
    """The install line's command (an explicit input) prints what the first example shows."""
    text = README.read_text(encoding="utf-8")
    (main_job,) = re.findall(r"^pip install -e \. && (netinspect [^#\n]*?)\s+#", text, re.M)
    code, lines = run_netinspect(main_job)
    assert code == 0
    assert matches(EXAMPLES[0][0].expected, lines)


def test_readme_test_line_is_what_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    (test_line,) = re.findall(
        r'^pip install -e "\.\[test\]" && (python -m pytest [^#\n]*?)\s+#', text, re.M
    )
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(
        # The newest-torch run; `|| status=1` lets the floor run and the linters run after it.
        rf"^python3? -m pytest {re.escape(test_line.split('pytest ', 1)[1])}( \|\| status=1)?$",
        ci,
        re.M,
    )
    for claimed in ("ruff check", "ruff format --check", "mypy", "mkdocs build --strict"):
        assert claimed in text and claimed in ci, claimed


def test_readme_python_example() -> None:
    blocks = [lines for language, lines in fenced_blocks(README.read_text()) if language == "pycon"]
    assert blocks, "the README shows a Python session"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for lines in blocks:
        test = parser.get_doctest("\n".join(lines) + "\n", {}, "README", str(README), 0)
        runner.run(test)
    assert runner.failures == 0 and runner.tries >= 4


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        (("a", "...", "c"), ["a", "b", "c"], True),
        (("a", "...", "c"), ["a", "c"], True),
        (("a", "c"), ["a", "b", "c"], False),
        (("...", "b", "..."), ["a", "b", "c"], True),
        (("...", "b"), ["a", "b", "c"], False),
        (("b", "..."), ["a", "b"], False),
        (("a", "...", "b", "...", "b"), ["a", "b"], False),
        (("a", "...", "b", "...", "b"), ["a", "b", "x", "b"], True),
    ],
)
def test_matching_rules(expected: tuple[str, ...], actual: list[str], ok: bool) -> None:
    assert matches(expected, actual) is ok
