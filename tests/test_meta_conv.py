"""Convolutions on meta refuse what a real convolution refuses (torch_compat/meta_conv.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from netinspect.capture.bridge import MetaBridge
from netinspect.torch_compat import meta_conv


def test_the_feature_test_answers_for_torch_whatever_mode_asks_first() -> None:
    meta_conv.meta_conv_is_lenient.cache_clear()
    try:
        with MetaBridge(real_values=True), torch.device("meta"):
            inside = meta_conv.meta_conv_is_lenient()
    finally:
        meta_conv.meta_conv_is_lenient.cache_clear()
    weight = torch.empty(1, 1, 3, 3, device="meta")
    try:
        F.conv2d(torch.empty(1, 1, 2, 3, device="meta"), weight)
        lenient = True
    except RuntimeError:
        lenient = False
    assert inside is lenient is meta_conv.meta_conv_is_lenient()


@pytest.mark.parametrize("size", [(4, 20), (5, 5), (20, 4), (2, 2), (9, 9)])
@pytest.mark.parametrize("padding", [0, 1])
def test_a_meta_convolution_refuses_what_a_real_one_refuses(
    size: tuple[int, int], padding: int
) -> None:
    real_weight = torch.zeros(4, 3, 5, 5)
    try:
        expected = F.conv2d(torch.zeros(1, 3, *size), real_weight, padding=padding).shape
    except RuntimeError:
        expected = None
    with torch.device("meta"), meta_conv.strict_meta_conv():
        conv = torch.nn.Conv2d(3, 4, 5, padding=padding)
        try:
            got = conv(torch.zeros(1, 3, *size)).shape
        except RuntimeError:
            got = None
    assert got == expected
