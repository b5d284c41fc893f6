"""A dict-valued input on the CLI: ``--input batch.input_ids=1x128:int64`` builds the dict
``batch`` that ``forward(self, batch)`` indexes by key."""

from __future__ import annotations

import pytest
from netinspect_cli import main as _registers_commands  # noqa: F401
from netinspect_cli.app import app
from torch import nn
from typer.testing import CliRunner

from netinspect.errors import InputSpecError
from netinspect.pipeline.run import inspect_model
from netinspect.spec_keywords import place_keyword
from netinspect.specs import parse_input_spec


class Batch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 8)

    def forward(self, batch):
        return self.emb(batch["input_ids"]) * batch["mask"]["tokens"].unsqueeze(-1)


SPECS = ["batch.input_ids=1x12:int64", "batch.mask.tokens=1x12:ones"]


def test_dotted_names_build_nested_dicts() -> None:
    report = inspect_model(Batch(), SPECS)
    assert report.outputs == ((1, 12, 8),)
    assert [(i.name, i.shape, i.dtype) for i in report.inputs] == [
        ("batch.input_ids", (1, 12), "int64"),
        ("batch.mask.tokens", (1, 12), "float32"),
    ]


def test_symbolic_dims_in_a_dict_input() -> None:
    report = inspect_model(Batch(), ["batch.input_ids=BxT:int64", "batch.mask.tokens=BxT:ones"])
    assert report.symbolic is not None
    assert report.symbolic.outputs == (("B", "T", "8"),)


def test_cli_and_errors() -> None:
    from pathlib import Path

    result = CliRunner().invoke(
        app, ["inspect", f"{Path(__file__).resolve()}:Batch", *[f"--input={s}" for s in SPECS]]
    )
    assert result.exit_code == 0, result.output
    assert parse_input_spec("batch.ids=1x4").name == "batch.ids"
    with pytest.raises(InputSpecError):
        parse_input_spec("batch..ids=1x4")
    kwargs: dict[str, object] = {"batch": 1}
    with pytest.raises(InputSpecError, match="is a tensor, not a dict"):
        place_keyword(kwargs, "batch.ids", 2)
