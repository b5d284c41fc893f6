"""The Python API with Python's habits: shapes as tuples, errors naming arguments rather than
CLI flags, and torchinfo's ``summary`` calls (copies of its README's examples, on small
models) running unchanged or refused in one line that says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import netinspect
from netinspect.api import python_spelling
from netinspect.errors import ForwardFailed, UsageError


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta_resnet18() -> nn.Module:
    with torch.device("meta"):
        return torchvision.models.resnet18(weights=None)


# --- inputs as Python writes them ----------------------------------------------------------


def test_a_tuple_of_ints_is_one_input_shape() -> None:
    model = _meta_resnet18()
    by_tuple = netinspect.inspect_model(model, (1, 3, 64, 64))
    by_size = netinspect.inspect_model(model, torch.Size([1, 3, 64, 64]))
    by_list = netinspect.inspect_model(model, [1, 3, 64, 64])
    by_spec = netinspect.inspect_model(model, "1x3x64x64")
    for report in (by_tuple, by_size, by_list):
        assert [i.shape for i in report.inputs] == [(1, 3, 64, 64)]
        assert report.outputs == by_spec.outputs == ((1, 1000),)
        assert report.totals.params == _params(model)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(300, 50)
        self.b = nn.Linear(20, 50)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.a(x1) + self.b(x2)


def test_a_list_of_shapes_is_one_input_each() -> None:
    report = netinspect.inspect_model(TwoInputs(), [(2, 300), (2, 20)])
    assert [i.shape for i in report.inputs] == [(2, 300), (2, 20)]
    assert report.outputs == ((2, 50),)


def test_errors_name_python_arguments_not_cli_flags() -> None:
    with pytest.raises(UsageError) as info:
        netinspect.inspect_model(TwoInputs(), (2, 300))
    message = str(info.value)
    assert "--" not in message and "inputs=" in message, message
    with pytest.raises(UsageError) as info:
        netinspect.inspect_model(TwoInputs(), [(2, 300), (2, 20)], dtype="float9")
    assert str(info.value).startswith("dtype: unknown dtype 'float9'"), str(info.value)
    with pytest.raises(UsageError, match=r"^malformed inputs"):
        netinspect.inspect_model(TwoInputs(), ["2x"])


def test_a_failed_forward_speaks_python_too() -> None:
    # One 3-D input for a Conv2d model: the hint says how to pass a 4-D one.
    with pytest.raises(ForwardFailed) as info:
        netinspect.inspect_model(_meta_resnet18(), (3, 64, 64))
    error = info.value.report.error
    assert error is not None
    assert "--input" not in str(info.value) and "--input" not in (error.hint or "")


def test_torchinfo_argument_names_get_a_pointer_not_a_bare_type_error() -> None:
    with pytest.raises(TypeError, match=r"input_size=.*inputs=\(1, 3, 224, 224\).*summary"):
        netinspect.inspect_model(TwoInputs(), input_size=(1, 300))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("cli", "python"),
    [
        ("pass one, e.g. --input 1x3x224x224", 'pass one, e.g. inputs="1x3x224x224"'),
        ("--hint H=99: too big", 'hints={"H": 99}: too big'),
        ("--hint needs an --input with named dims, e.g. --input 1x3xHxW",
         'hints= needs named dims in inputs=, e.g. inputs="1x3xHxW"'),
        ("--device cuda: CUDA is not available", 'device="cuda": CUDA is not available'),
        ("malformed --arg 'x': expected name=value", "malformed forward_args 'x': expected name=value"),
        ("pass --allow-import mypkg if you trust it", 'pass allow_import=("mypkg",) if you trust it'),
        ("--up-to 200000 is above the limit", "up_to=200000 is above the limit"),
    ],
)  # fmt: skip
def test_python_spelling(cli: str, python: str) -> None:
    assert python_spelling(cli) == python


# --- torchinfo's summary -------------------------------------------------------------------


class ConvNet(nn.Module):
    """torchinfo's README model: two convs and two linears on 28×28 digits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


class MultipleInputNetDifferentDtypes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1a = nn.Linear(300, 50)
        self.fc1b = nn.Linear(50, 10)
        self.fc2a = nn.Linear(300, 50)
        self.fc2b = nn.Linear(50, 10)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.fc1b(F.relu(self.fc1a(x1)))
        x2 = self.fc2b(F.relu(self.fc2a(x2.type(torch.float))))
        return F.log_softmax(torch.cat((x1, x2), 0), dim=1)


class LSTMNet(nn.Module):
    def __init__(self, vocab_size: int = 20, embed_dim: int = 300, hidden_dim: int = 512) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.encoder = nn.LSTM(embed_dim, hidden_dim, num_layers=2, batch_first=True)
        self.decoder = nn.Linear(hidden_dim, vocab_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, object]:
        out, hidden = self.encoder(self.embedding(x))
        out = self.decoder(out)
        return out.view(-1, out.size(2)), hidden


class ContainerChildModule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._sequential = nn.Sequential(nn.Linear(5, 5), nn.Linear(5, 5))
        self._between = nn.Linear(5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._between(self._sequential(x))
        for layer in self._sequential:
            out = layer(out)
        return out


class ContainerModule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._layers = nn.ModuleList([nn.Linear(5, 5), ContainerChildModule(), nn.Linear(5, 5)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self._layers:
            x = layer(x)
        return x


def test_readme_input_size_prints_the_table_in_a_script(capsys: pytest.CaptureFixture[str]) -> None:
    model = ConvNet()
    batch_size = 16
    report = netinspect.summary(model, input_size=(batch_size, 1, 28, 28))
    printed = capsys.readouterr().out
    assert printed == str(report) and "conv2_drop" in printed
    assert report.totals.params == _params(model) == 21_840  # torchinfo's README says 21,840
    assert report.outputs == ((batch_size, 10),)
    assert report.flatten is not None and report.flatten.output_shape == (batch_size, 320)


def test_readme_summary_as_string(capsys: pytest.CaptureFixture[str]) -> None:
    model_stats = netinspect.summary(ConvNet(), (1, 1, 28, 28), verbose=0)
    summary_str = str(model_stats)
    assert capsys.readouterr().out == ""
    assert "Total params" in summary_str and "21,840" in summary_str


def test_readme_resnet_depth_3_matches_inspect_model() -> None:
    model = _meta_resnet18()
    report = netinspect.summary(model, (1, 3, 224, 224), depth=3, verbose=0)
    full = netinspect.inspect_model(model, (1, 3, 224, 224))
    assert report.totals == full.totals and report.outputs == full.outputs
    assert [(r.name, r.output_shapes) for r in report.layers] == [
        (r.name, r.output_shapes) for r in full.layers
    ]
    assert report.totals.params == _params(model)
    # The view is depth 3 with nothing collapsed, as torchinfo shows every layer down to it:
    # each row at depth <= 3 is in the table, the downsample convs (depth 4) are folded.
    shown = {int(m) for m in re.findall(r"^\s*(\d+)\s", str(report).split("Flatten")[0], re.M)}
    assert shown == {r.index for r in full.layers if r.depth <= 3}
    assert "layer2.0.downsample.0" in {r.name for r in full.layers if r.depth == 4}
    shallow = netinspect.summary(model, (1, 3, 224, 224), depth=1, verbose=0)
    assert "conv1" in str(shallow) and "BasicBlock" not in str(shallow)


def test_readme_multiple_inputs_with_dtypes() -> None:
    model = MultipleInputNetDifferentDtypes()
    report = netinspect.summary(model, [(1, 300), (1, 300)], dtypes=[torch.float, torch.long])
    assert [(i.shape, i.dtype) for i in report.inputs] == [
        ((1, 300), "float32"),
        ((1, 300), "int64"),
    ]
    assert report.outputs == ((2, 10),)
    assert report.totals.params == _params(model)


def test_readme_input_data() -> None:
    model = MultipleInputNetDifferentDtypes()
    input_data = torch.randn(1, 300)
    other_input_data = torch.randn(1, 300).long()
    report = netinspect.summary(model, input_data=[input_data, other_input_data], verbose=0)
    assert report.outputs == ((2, 10),)
    # The README's literal "..." in the list is not an input: refused in one line.
    with pytest.raises(UsageError) as info:
        netinspect.summary(model, input_data=[input_data, other_input_data, ...], verbose=0)
    assert "\n" not in str(info.value) and "input_data[2] is ellipsis" in str(info.value)


def test_readme_lstm_col_names_kernel_size_is_refused_with_why() -> None:
    with pytest.raises(UsageError) as info:
        netinspect.summary(
            LSTMNet(),
            (1, 100),
            dtypes=[torch.long],
            verbose=2,
            col_width=16,
            col_names=["kernel_size", "output_size", "num_params", "mult_adds"],
        )
    message = str(info.value)
    assert "\n" not in message and "'kernel_size'" in message and "attributes" in message


def test_readme_lstm_without_kernel_size(capsys: pytest.CaptureFixture[str]) -> None:
    model = LSTMNet()
    report = netinspect.summary(
        model,
        (1, 100),
        dtypes=[torch.long],
        verbose=2,
        col_width=16,
        col_names=["output_size", "num_params", "mult_adds"],
    )
    printed = capsys.readouterr().out
    assert "MACs" in printed and "Input shape" in printed
    assert report.totals.params == _params(model) == 3_784_580  # torchinfo's README
    # torchinfo counts the LSTM's mult-adds; netinspect's counter has no formula for the fused
    # RNN kernel and says so rather than counting zero silently.
    assert report.totals.flops_partial and report.totals.uncounted_ops
    assert "partial" in printed


def test_readme_sequentials_and_module_lists() -> None:
    model = ContainerModule()
    report = netinspect.summary(model, (1, 5), verbose=0)
    assert report.totals.params == _params(model) == 150  # torchinfo's README
    # A reused layer's second call is a row of its own (call 2), its params counted once.
    reused = [r for r in report.layers if r.name == "_layers.1._sequential.0"]
    assert [(r.call_index, r.params) for r in reused] == [(0, 30), (1, 0)]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"col_names": ["params_percent"]}, "'params_percent'"),
        ({"mode": "train"}, "mode='train'"),
        ({"row_settings": ["ascii_only"]}, "'ascii_only'"),
        ({"verbose": 3}, "verbose"),
        ({"depth": -1}, "depth"),
    ],
)
def test_unsupported_summary_arguments_are_named(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(UsageError) as info:
        netinspect.summary(ConvNet(), (1, 1, 28, 28), **kwargs)  # type: ignore[arg-type]
    assert named in str(info.value) and "\n" not in str(info.value)


def test_summary_accepts_torchinfo_presentation_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = netinspect.summary(
        ConvNet(),
        input_size=(1, 1, 28, 28),
        col_names=["input_size", "output_size", "num_params", "trainable"],
        col_width=20,
        row_settings=["var_names"],
        device="cpu",
        verbose=0,
    )
    assert capsys.readouterr().out == ""
    assert report.device == "cpu"
    assert report.display is not None and report.display.columns == ("shapes", "params")


def test_summary_batch_dim_adds_a_batch_of_one() -> None:
    report = netinspect.summary(ConvNet(), (1, 28, 28), batch_dim=0, verbose=0)
    assert report.inputs[0].shape == (1, 1, 28, 28)


def test_compare_reports_speaks_python(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"x": 1}', encoding="utf-8")
    with pytest.raises(UsageError) as info:
        netinspect.compare_reports(bad, bad)
    assert "--format" not in str(info.value) and "report.json()" in str(info.value)
