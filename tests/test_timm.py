"""``timm:`` targets: built with pretrained=False, the model's own default input, builder
options after commas, did-you-mean from timm's names, and ``netinspect list timm``."""

from __future__ import annotations

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.errors import ModelNotFound, UsageError
from netinspect.pipeline.run import inspect_model
from netinspect.sources.resolve import resolve_target

timm = pytest.importorskip("timm")
runner = CliRunner()


def meta_params(name: str, **kwargs: object) -> int:
    """An independent count: timm's own model built on meta, parameters summed."""
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False, **kwargs)
    return sum(p.numel() for p in model.parameters())


def test_default_input_comes_from_the_pretrained_config() -> None:
    assert resolve_target("timm:resnet18").default_inputs == ("1x3x224x224",)
    assert resolve_target("timm:efficientnet_b3").default_inputs == ("1x3x288x288",)
    # A pretrained tag picks that config's size.
    assert resolve_target("timm:vit_base_patch16_384").default_inputs == ("1x3x384x384",)
    # An img_size or in_chans option wins over the config.
    assert resolve_target("timm:vit_tiny_patch16_224,img_size=96").default_inputs == ("1x3x96x96",)
    assert resolve_target("timm:resnet18,in_chans=1").default_inputs == ("1x1x224x224",)


def test_resnet18_inspects_with_its_default_input() -> None:
    report = inspect_model("timm:resnet18")
    assert report.model.source == "timm" and report.model.class_name == "ResNet"
    assert report.device == "meta" and report.notes == ()
    assert [i.shape for i in report.inputs] == [(1, 3, 224, 224)]
    # torchvision's resnet18 has the same layers: 11,689,512 parameters.
    assert report.totals.params == meta_params("resnet18") == 11_689_512
    assert report.outputs == ((1, 1000),)
    assert report.flatten is not None and report.flatten.output_shape == (1, 512)


def test_efficientnet_b0_at_a_small_size_with_options() -> None:
    report = inspect_model("timm:efficientnet_b0,num_classes=10", ["1x3x64x64"])
    assert report.outputs == ((1, 10),)
    assert report.totals.params == meta_params("efficientnet_b0", num_classes=10)
    # 64 / 32 (five stride-2 stages) = 2: the last feature map before pooling is 2x2.
    pool = next(r for r in report.layers if r.name == "global_pool")
    assert pool.input_shapes == ((1, 1280, 2, 2),)


def test_unknown_names_get_suggestions_and_bad_options_are_usage_errors() -> None:
    with pytest.raises(ModelNotFound, match=r"did you mean timm:resnet18"):
        resolve_target("timm:resnet19")
    with pytest.raises(UsageError, match="never downloads"):
        resolve_target("timm:resnet18,pretrained=true")
    result = runner.invoke(app, ["inspect", "timm:resnet18,no_such_option=1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("netinspect: error: timm:resnet18,no_such_option=1: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_list_timm_with_a_pattern() -> None:
    result = runner.invoke(app, ["list", "timm", "resnet1*"])
    assert result.exit_code == 0
    names = result.stdout.split()
    assert "resnet18" in names and all(n.startswith("resnet1") for n in names)
    assert names == timm.list_models("resnet1*")
    # Plain text matches anywhere in the name.
    assert "efficientnet_b0" in runner.invoke(app, ["list", "timm", "efficientnet_b"]).stdout
    none = runner.invoke(app, ["list", "timm", "no-such-model"])
    assert none.exit_code == 2 and "no timm model matches" in none.stderr
