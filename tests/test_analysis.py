"""Flatten point and depth folding on hand-built records."""

from __future__ import annotations

from netinspect.analysis.flatten import find_flatten_point
from netinspect.analysis.layers import fold_to_depth, is_leaf, subtree_end
from tests.records_factory import layer, report_of, small_cnn_layers


def test_subtree_and_leaves() -> None:
    layers = small_cnn_layers()
    assert subtree_end(layers, 0) == len(layers)
    assert subtree_end(layers, 1) == 4
    assert subtree_end(layers, 5) == 9
    assert [i for i in range(len(layers)) if is_leaf(layers, i)] == [2, 3, 4, 6, 7, 8]


def test_flatten_descends_to_the_innermost_row() -> None:
    # The root and `head` both go 4-D -> 2-D; the row doing the work is head.0 (Flatten).
    point = find_flatten_point(small_cnn_layers())
    assert point is not None
    assert (point.name, point.type, point.layer_index) == ("head.0", "Flatten", 6)
    assert point.flattened_dims == (4, 2, 2)
    # Dropout passes the features through; the consumer is the Linear.
    assert point.consumer is not None
    assert (point.consumer.name, point.consumer.expected_in_features) == ("head.2", 16)
    assert point.consumer.matches is True


def test_consumer_mismatch() -> None:
    layers = list(small_cnn_layers())
    layers[8] = layer(8, "head.2", 2, (1, 16), None, type="Linear", parent="head",
                      attributes={"in_features": 25, "out_features": 10})  # fmt: skip
    point = find_flatten_point(tuple(layers))
    assert point is not None and point.consumer is not None
    assert point.consumer.matches is False
    assert point.consumer.expected_in_features == 25


def test_no_flatten_point() -> None:
    layers = (
        layer(0, "", 0, (1, 3, 8, 8), (1, 3, 8, 8), parent=None),
        layer(1, "conv", 1, (1, 3, 8, 8), (1, 3, 8, 8)),
    )
    assert find_flatten_point(layers) is None


def test_batch_must_be_preserved() -> None:
    # (4, 3, 5) -> (12, 5) merges batch and time: not a (batch, features) flatten.
    layers = (
        layer(0, "", 0, (4, 3, 5), (12, 5), parent=None),
        layer(1, "reshape", 1, (4, 3, 5), (12, 5), kind="function", type="Tensor.reshape"),
    )
    assert find_flatten_point(layers) is None


def test_fold_to_depth_sums_params() -> None:
    report = report_of(small_cnn_layers())
    folded = fold_to_depth(report, 1)
    assert [x.name for x in folded.layers] == ["", "features", "pool", "head"]
    assert [x.params for x in folded.layers] == [0, 112, 0, 170]
    assert [x.trainable_params for x in folded.layers] == [0, 112, 0, 0]
    # Invariant: folding never changes the total.
    assert sum(x.params for x in folded.layers) == report.totals.params
    assert fold_to_depth(report, 0).layers[0].params == report.totals.params
    assert fold_to_depth(report, 5).layers == report.layers
