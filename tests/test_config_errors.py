"""Every config error is one ``path:line:col: message`` pointing at the offending YAML.

Expected positions are found in the test's own text (the line and column where the named
token is written), not read back from netinspect.
"""

from __future__ import annotations

import sys
from pathlib import Path

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

import netinspect
from netinspect.errors import ConfigError
from netinspect.sources.config import load_config_target
from tests.conftest import write_config


def position(text: str, token: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th line containing ``token``."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if token in line:
            seen += 1
            if seen == occurrence:
                return number, line.index(token) + 1
    raise AssertionError(f"{token!r} not in the text")


def load_error(path: str, **kwargs: object) -> ConfigError:
    """The ConfigError from loading the config, or else from building it on meta."""
    with pytest.raises(ConfigError) as info:
        target = load_config_target(path, **kwargs)  # type: ignore[arg-type]
        netinspect.build_model(target, "meta")
    return info.value


def check(error: ConfigError, path: str, line: int, col: int | None, *fragments: str) -> None:
    assert (error.file, error.line) == (path, line), str(error)
    if col is not None:
        assert error.col == col, str(error)
    assert str(error).startswith(f"{path}:{line}:")
    for fragment in fragments:
        assert fragment in error.message, error.message


def test_unknown_layer_suggests_the_right_case(tmp_path: Path) -> None:
    text = "input: 1x3x32x32\nlayers:\n  - Conv2D: [3, 64, 3]\n  - ReLU\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "Conv2D"),
        "unknown layer 'Conv2D'",
        "did you mean Conv2d?",
    )


def test_unknown_bare_layer_without_arguments(tmp_path: Path) -> None:
    text = "layers:\n  - Linear: [4, 4]\n  - Relu6\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "Relu6"), "did you mean ReLU6?")


def test_bad_keyword_suggests_the_parameter(tmp_path: Path) -> None:
    text = """\
layers:
  - Conv2d:
      in_channels: 3
      out_channels: 64
      kernal_size: 3
"""
    path = write_config(tmp_path, text)
    check(
        load_error(path), path, *position(text, "kernal_size"),
        "Conv2d has no argument 'kernal_size'", "did you mean kernel_size?",
    )  # fmt: skip


def test_bad_keyword_in_trailing_mapping(tmp_path: Path) -> None:
    text = "layers:\n  - Conv2d: [3, 64, 3, {paddin: 1}]\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "paddin"), "did you mean padding?")


def test_missing_positional_argument(tmp_path: Path) -> None:
    text = "layers:\n  - Linear: [4, 4]\n  - Conv2d: [3, 64]\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path), path, *position(text, "Conv2d"),
        "missing a required argument: 'kernel_size'",
        "Conv2d(in_channels, out_channels, kernel_size",
    )  # fmt: skip


def test_too_many_positional_arguments(tmp_path: Path) -> None:
    text = "layers:\n  - ReLU: [true, 1, 2]\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "ReLU"), "too many positional arguments")


def test_constructor_type_error_points_at_the_layer(tmp_path: Path) -> None:
    text = "input: 1x4\nlayers:\n  - Linear: [4, 8]\n  - Linear: [8, ten]\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "Linear", 2), "Linear(...) failed: TypeError")


def test_constructor_value_error_points_at_the_layer(tmp_path: Path) -> None:
    text = "layers:\n  - Conv2d: [3, 64, 3, {padding: sideways}]\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "Conv2d"), "Conv2d(...) failed: ValueError")


def test_builder_keyword_error_points_at_the_key(tmp_path: Path) -> None:
    # resnet18 takes **kwargs, so only building finds the typo; the key is still located.
    text = "model:\n  _target_: torchvision.models.resnet18\n  num_clases: 10\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "num_clases"),
        "num_clases",
        "did you mean num_classes?",
    )


def test_replace_path_not_found_lists_children(tmp_path: Path) -> None:
    text = "model: vgg16\nreplace:\n  classifer:\n    - Linear: [25088, 10]\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path), path, *position(text, "classifer"),
        "'classifer' not found", "did you mean classifier?", "features, avgpool, classifier",
    )  # fmt: skip


def test_replace_nested_path_lists_children_at_that_level(tmp_path: Path) -> None:
    text = "model: vgg16\nreplace:\n  features.31: ReLU\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path), path, *position(text, "features.31"),
        "Sequential 'features' has no child '31'", "children are 0-30",
    )  # fmt: skip


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = "name: x\nlayer:\n  - ReLU\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "layer:"),
        "unknown top-level key 'layer'",
        "did you mean layers?",
    )


@pytest.mark.parametrize("text", ["", "\n# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write_config(tmp_path, text)
    check(load_error(path), path, 1, 1, "the config is empty")


def test_invalid_yaml_reports_the_parser_position(tmp_path: Path) -> None:
    text = "name: x\nlayers:\n  - Linear: in_features: 4\n"
    path = write_config(tmp_path, text)
    line, _ = position(text, "in_features")
    col = text.splitlines()[line - 1].index("in_features:") + len("in_features") + 1
    check(load_error(path), path, line, col, "invalid YAML: mapping values are not allowed here")


def test_invalid_yaml_unclosed_bracket(tmp_path: Path) -> None:
    text = "layers:\n  - Conv2d: [3, 64, 3\n  - ReLU\n"
    path = write_config(tmp_path, text)
    # The parser only knows at the end of the text (line 4) that the "[" of line 2 never closed.
    check(load_error(path), path, 4, 1, "expected ',' or ']'", "flow sequence at line 2")


def test_invalid_yaml_tab_indentation(tmp_path: Path) -> None:
    text = "layers:\n\t- ReLU\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, 2, 1, "invalid YAML", "not tabs")


def test_both_model_and_layers(tmp_path: Path) -> None:
    text = "model: vgg16\ninput: 1x3x224x224\nlayers:\n  - ReLU\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "layers:"), "both model: and layers:")


def test_neither_model_nor_layers(tmp_path: Path) -> None:
    text = "name: nothing\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, 1, 1, "needs model:")


def test_unknown_torchvision_model(tmp_path: Path) -> None:
    text = "name: typo\nmodel: resnet_18\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "resnet_18"),
        "unknown torchvision model",
        "resnet18",
    )


def test_missing_dash_between_layers(tmp_path: Path) -> None:
    text = "layers:\n  - Conv2d: [3, 64, 3]\n    BatchNorm2d: 64\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "Conv2d"),
        "a layer entry has one key",
        "Conv2d, BatchNorm2d",
    )


def test_duplicate_key(tmp_path: Path) -> None:
    text = "model: vgg16\nreplace:\n  classifier: ReLU\n  classifier: Sigmoid\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "classifier", 2),
        "duplicate key 'classifier'",
        "line 3",
    )


def test_bad_input_spec(tmp_path: Path) -> None:
    text = "layers: [ReLU]\ninput: 1x3y224\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "1x3y224"), "input:", "malformed --input")


def test_unsupported_version(tmp_path: Path) -> None:
    text = "version: 2\nlayers: [ReLU]\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "2"), "unsupported config version 2")


def test_residual_unknown_key(tmp_path: Path) -> None:
    text = "layers:\n  - residual:\n      body: [ReLU]\n      shortcuts: [Identity]\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "shortcuts"), "did you mean shortcut?")


def test_weights_are_refused(tmp_path: Path) -> None:
    text = "model:\n  _target_: torchvision.models.resnet18\n  weights: DEFAULT\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "weights"), "never downloads weights")


def test_python_tags_are_refused(tmp_path: Path) -> None:
    text = "layers:\n  - !!python/object/apply:os.system [echo hi]\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "!!python"),
        "!!python/object/apply:os.system is not allowed",
    )


def test_python_scalar_tags_are_refused(tmp_path: Path) -> None:
    text = "name: x\nlayers:\n  - !!python/name:os.system ''\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path),
        path,
        *position(text, "!!python"),
        "!!python/name:os.system is not allowed",
    )


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config_target("no/such/config.yaml")


# --- imports outside torch.nn / torchvision ------------------------------------------------


def test_target_outside_the_allowed_modules_is_refused(tmp_path: Path) -> None:
    text = "layers:\n  - _target_: os.system\n    command: echo hi\n"
    path = write_config(tmp_path, text)
    check(
        load_error(path), path, *position(text, "os.system"),
        "not importable by default", "--allow-import os",
    )  # fmt: skip


def test_target_cannot_escape_through_attributes(tmp_path: Path) -> None:
    text = "layers:\n  - _target_: torch.nn.modules.module.torch.load\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "torch.nn.modules"), "walks attributes")


def test_allow_import_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_blocks.py").write_text(
        "import torch.nn as nn\n\n"
        "class Twice(nn.Module):\n"
        "    def __init__(self, features: int) -> None:\n"
        "        super().__init__()\n"
        "        self.proj = nn.Linear(features, 2 * features)\n\n"
        "    def forward(self, x):\n"
        "        return self.proj(x)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_blocks", raising=False)
    text = "input: 1x4\nlayers:\n  - _target_: my_blocks.Twice\n    features: 4\n"
    path = write_config(tmp_path, text)
    check(load_error(path), path, *position(text, "my_blocks.Twice"), "--allow-import my_blocks")
    report = netinspect.inspect_model(path, allow_import=("my_blocks",))
    assert report.outputs == ((1, 8),)
    assert report.totals.params == 4 * 8 + 8


# --- CLI: one line on stderr, exit 2 --------------------------------------------------------


def test_cli_config_error_is_one_line_exit_2(tmp_path: Path) -> None:
    text = (
        "layers:\n  - Conv2d:\n      in_channels: 3\n      out_channels: 8\n      kernal_size: 3\n"
    )
    path = write_config(tmp_path, text)
    result = CliRunner().invoke(app, ["inspect", path])
    assert result.exit_code == 2
    line, col = position(text, "kernal_size")
    assert result.stderr.splitlines() == [
        f"netinspect: error: {path}:{line}:{col}: Conv2d has no argument 'kernal_size' "
        "(did you mean kernel_size?): Conv2d(in_channels, out_channels, kernel_size, stride=1, "
        "padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros')"
    ]
    assert "Traceback" not in result.output


def test_cli_import_refusal_mentions_allow_import(tmp_path: Path) -> None:
    text = "layers:\n  - _target_: subprocess.run\n"
    path = write_config(tmp_path, text)
    result = CliRunner().invoke(app, ["inspect", path])
    assert result.exit_code == 2
    assert "--allow-import subprocess" in result.stderr
