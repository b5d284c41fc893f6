"""What a person sees on a terminal: help for a bare call, suggestions for a misspelt option,
every note and error once, and a table that never splits a word."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import netinspect_cli.app as cli_app
import pytest
from netinspect_cli.main import main
from typer.testing import CliRunner

MODELS = Path(__file__).parent / "models"
TOKENS = f"{MODELS / 'user_code.py'}:Tokens"


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    """The installed entry point (routing included), as ``netinspect ARGS``."""
    monkeypatch.setattr(sys, "argv", ["netinspect", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    out, err = capsys.readouterr()
    return caught.value.code, out, err


def test_a_bare_call_prints_the_help_on_stdout_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("Usage: netinspect [OPTIONS] COMMAND [ARGS]...")
    assert "sizes" in out and "--version" in out


def test_a_misspelt_global_option_gets_a_suggestion(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "--verison")
    assert (code, out) == (2, "")
    assert err == (
        "netinspect: error: No such option: --verison (did you mean --version?); "
        "see 'netinspect --help'\n"
    )


@pytest.fixture
def one_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout and stderr on the same terminal (colour off, to read the text)."""
    monkeypatch.setattr(cli_app, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(cli_app, "stderr_is_tty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli_app.app, list(args), catch_exceptions=False)


NOTE = "made int64"  # the note of an Embedding's input given without a dtype


@pytest.mark.usefixtures("one_terminal")
def test_notes_show_once_on_a_terminal() -> None:
    result = invoke("inspect", TOKENS, "--input", "text=1x10")
    assert result.exit_code == 0, result.output
    assert result.stdout.count(NOTE) == 1 and NOTE not in result.stderr


@pytest.mark.usefixtures("one_terminal")
def test_a_forward_failure_shows_once_on_a_terminal() -> None:
    result = invoke("inspect", TOKENS, "--input", "text=1x10:float32")
    assert result.exit_code == 3
    assert "looks up token ids" in result.stdout and result.stderr == ""


def test_piped_output_keeps_the_notes_on_stderr_for_logs() -> None:
    result = invoke("inspect", TOKENS, "--input", "text=1x10")
    assert result.stdout.count(NOTE) == 1 and result.stderr.count(NOTE) == 1


@pytest.mark.usefixtures("one_terminal")
def test_check_errors_show_once_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "vgg16")  # no baseline: an error for that target
    assert result.exit_code == 2
    assert result.stdout.count("ERROR      vgg16: no baseline: .netinspect/vgg16.json") == 1
    assert "no baseline" not in result.stderr


# --- the table never splits a word -----------------------------------------------------------


def unsplit_counts_hold(text: str, report: Any, columns: Any) -> None:
    """Every type name, shape and parameter count of the visible rows appears whole as often
    as the rows hold it (a word folded across two lines would be missing once)."""
    from collections import Counter

    from netinspect.render.text import fmt_params, shape_parts

    wanted: Counter[str] = Counter()
    for layer in report.layers:
        wanted[layer.type] += 1
        for shape in (*layer.input_shapes[:3], *layer.output_shapes[:3]):
            wanted[shape_parts([shape], sep=",")[0]] += 1
        if layer.params:
            wanted[fmt_params(layer).split(" ")[0]] += 1
    for word, count in wanted.items():
        # Substrings (Conv2d in LazyConv2d) only add to what is found.
        assert text.count(word) >= count, (word, text.count(word), count)
    for header in ("Layer", "Type", "Input shape", "Output shape", "Params"):
        assert header in text


@pytest.mark.parametrize(
    ("model", "width", "columns"),
    [
        ("resnet50", 92, "shapes,params,macs,flops,memory"),  # Laye/r, Typ/e, (roo/t) before
        ("resnet50", 100, "shapes,params"),  # BatchNo/rm2d before
        ("vgg16", 80, "shapes,params"),  # torch.flatte/n before
    ],
)
def test_the_table_splits_no_type_shape_or_number(model: str, width: int, columns: str) -> None:
    from netinspect.analysis.layers import collapse_repeats
    from netinspect.pipeline.run import inspect_model
    from netinspect.render import OutputFormat, RenderOptions, parse_columns, render_report

    report = collapse_repeats(inspect_model(model))
    chosen = parse_columns(columns)
    text = render_report(report, OutputFormat.table, RenderOptions(width=width, columns=chosen))
    table = text.split("\n\n")[0] if "Flatten point" not in text else text.split("Flatten")[0]
    unsplit_counts_hold(table, report, chosen)
    for name in ("(root)", "BatchNorm2d", "flatten()", "torch.flatten", "AdaptiveAvgPool2d"):
        if any(name in (r.type, f"{r.name.rsplit('.', 1)[-1]}()") for r in report.layers):
            assert name in table


def test_the_layout_counts_the_real_spacing() -> None:
    # vgg16's narrowest layout needs 76 columns with one space between columns and 81 with
    # two: at 80 it fits (one space), and the width the layout computes is the table's width.
    from netinspect.pipeline.run import inspect_model
    from netinspect.render import OutputFormat, RenderOptions, render_report
    from netinspect.render.layout import table_overhead
    from netinspect.render.table import _main_table

    assert table_overhead(_main_table, 6) == 12  # edges 2, two spaces between columns
    assert table_overhead(lambda: _main_table(padding=(0, 0)), 6) == 7
    report = inspect_model("vgg16")
    for width in (80, 100):
        text = render_report(report, OutputFormat.table, RenderOptions(width=width))
        assert max(len(line) for line in text.splitlines()) <= width
        assert "torch.flatten" in text and "AdaptiveAvgPool2d" in text
    wide = render_report(report, OutputFormat.table, RenderOptions(width=100))
    assert "  #  Layer" in wide  # two spaces between columns where they fit


def test_names_fold_at_dots_and_pieces_stay_whole() -> None:
    from netinspect.render.layout import fold, name_pieces, word_pieces

    folded = fold(name_pieces("encoder.layers.encoder_layer_11") + word_pieces(["× 12"]), 16)
    assert folded.plain.splitlines() == ["encoder.layers.", "encoder_layer_11", "× 12"]
    assert fold(word_pieces(["[1,197,768]", "[1,197,768]"]), 12).plain == (
        "[1,197,768]\n[1,197,768]"
    )
    assert fold(name_pieces("a.b"), 10, "  ").plain == "  a.b"


def test_a_3_mb_exception_message_renders_fast() -> None:
    import time

    import torch

    from netinspect.errors import ForwardFailed
    from netinspect.pipeline.run import inspect_model
    from netinspect.render import OutputFormat, RenderOptions, render_report
    from tests.models.user_code import RaisesHuge

    with pytest.raises(ForwardFailed) as caught:
        inspect_model(RaisesHuge(), torch.zeros(1, 4))
    report = caught.value.report
    assert len(report.error.exception_message) >= 2_999_999  # type: ignore[union-attr]
    start = time.perf_counter()
    text = render_report(report, OutputFormat.table, RenderOptions(width=100))
    assert time.perf_counter() - start < 5  # 41.6 s before: Rich folded 3 MB in a grid cell
    assert len(text) < 10_000
    assert "more characters)" in text


# --- text from models and files is printed, never interpreted --------------------------------

EVIL_NAME = "evil\x1b]0;pwned\x07\x1b[2J\u202e[/]"


def test_control_characters_in_a_config_name_are_escaped_everywhere(tmp_path: Path) -> None:
    config = tmp_path / "evil.yaml"
    config.write_text(f'name: "{EVIL_NAME.encode("unicode_escape").decode()}"\n'
                      "layers:\n  - Linear: [4, 2]\n")  # fmt: skip
    shown = "evil\\x1b]0;pwned\\x07\\x1b[2J\\u202e[/]"
    for fmt in ("table", "markdown", "mermaid", "html"):
        result = invoke("inspect", str(config), "--input", "1x4", "-f", fmt)
        assert result.exit_code == 0, (fmt, result.output)
        assert (
            "\x1b" not in result.stdout
            and "\u202e" not in result.stdout
            and "\x07" not in result.stdout
        )
        if fmt in ("table", "markdown"):
            assert shown in result.stdout
    data = invoke("inspect", str(config), "--input", "1x4", "-f", "json").stdout
    assert "\\u001b]0;pwned" in data and "\\u202e" in data and "\x1b" not in data
    import json

    assert json.loads(data)["model"]["name"] == EVIL_NAME  # the data itself is exact


def test_validate_escapes_a_config_name_and_its_errors(tmp_path: Path) -> None:
    # validate printed the name raw: on a terminal (where nothing strips escapes, hence
    # color=True) the OSC sequence retitled it.
    config = tmp_path / "evil.yaml"
    config.write_text(f'name: "{EVIL_NAME.encode("unicode_escape").decode()}"\n'
                      "layers:\n  - Linear: [4, 2]\n")  # fmt: skip
    bad = tmp_path / "bad.yaml"
    bad.write_text('name: "b\\e]0;t\\a"\nlayers:\n  - Nope\x1b[2J: 1\n')
    runner = CliRunner()
    ok = runner.invoke(cli_app.app, ["validate", str(config)], color=True)
    assert ok.exit_code == 0, ok.output
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\u202e[/]" in ok.stdout
    invalid = runner.invoke(cli_app.app, ["validate", str(bad)], color=True)
    assert invalid.exit_code == 1, invalid.output
    assert invalid.stdout.startswith("invalid: ")
    for out in (ok.stdout, invalid.stdout):
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out


def test_escapes_in_errors_and_sizes_are_escaped(tmp_path: Path) -> None:
    result = invoke("inspect", "x\x1b[2Jy")
    assert result.exit_code == 2 and "\x1b" not in result.stderr
    config = tmp_path / "m.yaml"
    config.write_text('name: "m\\e[31m"\nlayers:\n  - Linear: [4, 2]\n')
    sizes = invoke("sizes", str(config), "--input", "1x4", "--up-to", "8")
    assert "\x1b" not in sizes.stdout and "m\\x1b[31m" in sizes.stdout


def test_markup_in_a_name_is_printed_not_parsed(tmp_path: Path) -> None:
    config = tmp_path / "markup.yaml"
    config.write_text('name: "a[/]b [bold red]x"\nlayers:\n  - Linear: [4, 2]\n')
    result = invoke("inspect", str(config), "--input", "1x4")
    assert result.exit_code == 0, result.output  # was exit 4: MarkupError
    assert "a[/]b [bold red]x (Sequential)" in result.stdout
