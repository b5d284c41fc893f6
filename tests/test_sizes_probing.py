"""The probing search of ``netinspect sizes`` on exact answers: a flat Linear(n) input accepts
n alone (n·1 = in_features), so every other size must be reported as failing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netinspect.analysis.sizes import describe_dim, infer_accepted, runs, scan_dim
from netinspect.pipeline.probe import probe_sizes


def accepted_by(accept: set[int], given_size: int) -> tuple[list[int], int]:
    """What scan_dim + infer_accepted report for a model accepting ``accept``, and the number of
    distinct sizes probed."""
    probed: set[int] = set()

    def probe(n: int) -> tuple[tuple[int, ...], ...] | None:
        probed.add(n)
        return ((1, 10),) if n in accept else None

    window = max(2 * given_size, 64)
    return infer_accepted(scan_dim(probe, given_size, window), window), len(probed)


@pytest.mark.parametrize("n", [300, 784, 1000])
def test_a_single_accepted_size_above_the_dense_part_is_exact(n: int) -> None:
    accepted, probes = accepted_by({n}, n)
    assert accepted == [n]  # "784 to 819 only" before: 785–819 were never probed
    assert probes < 260


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3000), st.integers(0, 3000), st.data())
def test_one_run_holding_the_given_size_is_found_exactly(
    first: int, length: int, data: st.DataObject
) -> None:
    last = first + length
    given_size = data.draw(st.integers(first, last))
    window = max(2 * given_size, 64)
    accepted, _ = accepted_by(set(range(first, last + 1)), given_size)
    assert accepted == list(range(first, min(last, window) + 1))


def test_sizes_on_a_flat_linear_input(tmp_path: Path) -> None:
    model = tmp_path / "flat.py"
    model.write_text(
        "from torch import nn\n\ndef make():\n    return nn.Sequential(nn.Linear(300, 10))\n"
    )
    report = probe_sizes(f"{model}:make", "1x300")
    (dim,) = report.dims
    assert runs([n for a, b in dim.accepted for n in range(a, b + 1)]) == ((300, 300),)
    assert describe_dim(dim) == "exactly 300"
    assert dim.above_maximum is not None and "got 301" in dim.above_maximum


def test_equal_output_shapes_are_shown_once_with_their_count() -> None:
    from netinspect.analysis.sizes import DimSizes, SizesReport, join_shapes, summarize
    from netinspect.render.sizes_format import render_sizes_text

    flows = ((1, 2, 128, 128),) * 12
    assert join_shapes(((1, 2, 8, 8),) * 12 + ((1, 4),)) == "12 × [1,2,8,8] [1,4]"
    dim = DimSizes(
        dim=2, label="H", given=224, probed_up_to=448, accepted=((128, 448),), minimum=128,
        maximum=None, step=8, output_depends=True, output_samples=((128, flows),),
        below_minimum=None, above_maximum=None,
    )  # fmt: skip
    report = SizesReport(
        model="raft", input_shape=(1, 3, 224, 224), mode="eval", device="meta", dims=(dim,),
        outputs=flows, output_constant=False, fixed_by=None, probes=1, seconds=0.0,
        summary=summarize("raft", "eval", [dim], flows, None),
    )  # fmt: skip
    text = render_sizes_text(report)
    assert "H=128 → 12 × [1, 2, 128, 128]" in text
    assert text.count("[1, 2, 128, 128]") == 1
    constant = SizesReport(
        model="m", input_shape=(1, 3, 8, 8), mode="eval", device="meta",
        dims=(dataclasses.replace(dim, output_depends=False),), outputs=flows,
        output_constant=True, fixed_by=None, probes=1, seconds=0.0, summary="",
    )  # fmt: skip
    assert "output always 12 × [1, 2, 128, 128]" in render_sizes_text(constant)
