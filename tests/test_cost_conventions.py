"""FLOPs of ops that are not matmuls or convs, by DeepSpeed's conventions, checked against
arithmetic done by hand; the matmul/conv figure stays FlopCounterMode's."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from netinspect.capture.cost_conventions import batch_norm_flop, batch_norm_legit_flop
from netinspect.pipeline.run import inspect_model
from netinspect.serialize import report_to_dict


def _row(report, name):
    return next(r for r in report.layers if r.name == name)


def test_conv_bn_relu_pool_by_convention() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
    ).eval()
    report = inspect_model(model, ["2x3x16x16"])
    maps = 2 * 8 * 16 * 16  # elements after the conv
    assert _row(report, "0").flops == 2 * maps * 27  # 3·3·3 MACs per output, 2 FLOPs each
    assert _row(report, "1").flops == 2 * maps  # eval batch norm with weight: 2 per element
    assert _row(report, "2").flops == maps  # relu: 1 per element
    assert _row(report, "3").flops == maps  # max pool: 1 per element read
    assert _row(report, "4").flops == maps // 4  # adaptive pool reads the 8x8 map
    t = report.totals
    assert t.matmul_flops == 2 * maps * 27 and t.macs == maps * 27
    assert t.flops == t.matmul_flops + 2 * maps + maps + maps + maps // 4
    assert not t.flops_partial


def test_norms_softmax_and_elementwise() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln = nn.LayerNorm(16)
            self.ln_plain = nn.LayerNorm(16, elementwise_affine=False)
            self.gn = nn.GroupNorm(2, 4)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            a = self.ln(x) + self.ln_plain(x)  # 5 + 4 per element, then 1 for the add
            b = F.softmax(a, dim=-1) * 2.0  # 1 per element each
            g = self.gn(y)  # 5 per element
            return b.sum() + g.mean()  # 1 per element read each, then 1 for the scalar add

    x, y = 3 * 16, 2 * 4 * 5
    report = inspect_model(Block(), ["x=3x16", "y=2x4x5"])
    expected = x * (5 + 4 + 1 + 1 + 1 + 1) + y * (5 + 1) + 1
    assert report.totals.flops == expected
    assert report.totals.matmul_flops == 0 and not report.totals.flops_partial


def test_batch_norm_formulas_by_mode_and_affine() -> None:
    x, w = torch.empty(4, 6, device="meta"), torch.empty(6, device="meta")
    stats = (torch.empty(6, device="meta"), torch.empty(6, device="meta"))
    # native_batch_norm(x, w, b, mean, var, training, momentum, eps)
    assert batch_norm_flop(x, w, w, *stats, True, 0.1, 1e-5) == 24 * 5
    assert batch_norm_flop(x, None, None, *stats, True, 0.1, 1e-5) == 24 * 4
    assert batch_norm_flop(x, w, w, *stats, False, 0.1, 1e-5) == 24 * 2
    # _native_batch_norm_legit(x, w, b, mean, var, training, momentum, eps) and the
    # no-stats form (x, w, b, training, momentum, eps)
    assert batch_norm_legit_flop(x, w, w, *stats, True, 0.1, 1e-5) == 24 * 5
    assert batch_norm_legit_flop(x, None, None, False, 0.1, 1e-5) == 24 * 1


def test_matmul_figure_equals_flop_counter_mode() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.GELU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5), nn.Softmax(-1)
    )
    x = torch.randn(2, 3, 8, 8)
    with FlopCounterMode(display=False) as counter:
        model(x)
    report = inspect_model(model, ["2x3x8x8"], device="cpu")
    assert report.totals.matmul_flops == counter.get_total_flops()
    # gelu: 2·4·6·6 outputs; softmax: 2·5 scores.
    assert report.totals.flops == counter.get_total_flops() + 2 * 4 * 6 * 6 + 2 * 5


def test_json_has_both_figures_per_row_and_in_totals() -> None:
    report = inspect_model(nn.Sequential(nn.Linear(4, 4), nn.ReLU()), ["1x4"])
    data = report_to_dict(report)
    assert data["totals"]["flops"] == 2 * 16 + 4 and data["totals"]["matmul_flops"] == 32
    assert [(r["flops"], r["matmul_flops"]) for r in data["layers"][1:]] == [(32, 32), (4, 0)]


def test_vgg16_conventions_by_hand() -> None:
    report = inspect_model("vgg16")
    # Each conv's output is read once by its ReLU; each stage's last map once by its max pool.
    stages = [(2, 64, 224), (2, 128, 112), (3, 256, 56), (3, 512, 28), (3, 512, 14)]
    relus = sum(n * c * s * s for n, c, s in stages) + 2 * 4096  # and the classifier's two
    pools = sum(c * s * s for _, c, s in stages) + 512 * 7 * 7  # max pools, then avgpool
    assert report.totals.flops - report.totals.matmul_flops == relus + pools == 19_702_272
    assert report.totals.matmul_flops == 30_940_528_640  # FlopCounterMode's vgg16 number
    assert not report.totals.flops_partial
