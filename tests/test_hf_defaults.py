"""A default Hugging Face config that cannot build names the setting left None, and the
option that sets it, instead of torch's words alone."""

from __future__ import annotations

from types import SimpleNamespace

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.sources.hf import unset_settings
from tests.conftest import one_line_error
from tests.torch_features import HF_REASON, hf_models_run

pytest.importorskip("transformers")
runner = CliRunner()


def test_unset_settings_leaves_out_what_is_none_by_design() -> None:
    data = {
        "vocab_size": None, "hidden_size": 8, "pad_token_id": None, "dtype": None,
        "text_config": None, "rope_scaling": {"factor": None, "type": "linear"},
    }  # fmt: skip
    config = SimpleNamespace(to_dict=lambda: data)
    assert unset_settings(config) == ["vocab_size", "rope_scaling.factor"]


@pytest.mark.skipif(not hf_models_run(), reason=HF_REASON)
def test_a_none_setting_is_named_with_the_option_that_sets_it() -> None:
    target = "hf:hunyuan_v1_dense,num_hidden_layers=1"
    line = one_line_error(runner.invoke(app, ["inspect", target]))
    assert "None" in line  # torch's own text stays, after the type
    assert line.endswith(f"the config leaves head_dim None (set it: {target},head_dim=...)")
    result = runner.invoke(app, ["inspect", f"{target},head_dim=16", "-f", "json"])
    assert result.exit_code == 0, result.stderr
