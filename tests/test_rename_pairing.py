"""A layer renamed with nothing else changed (``head`` -> ``classifier``) pairs as one
"renamed?" row, children included, instead of a removal plus an addition."""

from __future__ import annotations

import json

from torch import nn

from netinspect.compare.reports import compare_reports
from netinspect.pipeline.run import inspect_model
from netinspect.render.diff import render_diff_json, row_line


class Named(nn.Module):
    def __init__(self, name: str, classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.name = name
        setattr(self, name, nn.Sequential(nn.Flatten(), nn.Linear(8 * 6 * 6, classes)))

    def forward(self, x):
        return getattr(self, self.name)(self.conv(x))


def diff(old: nn.Module, new: nn.Module):
    return compare_reports(
        inspect_model(old, ["1x3x8x8"]),
        inspect_model(new, ["1x3x8x8"]),
        old_label="a",
        new_label="b",
    )


def test_pure_rename_pairs_as_renamed_guess() -> None:
    result = diff(Named("head"), Named("classifier"))
    changed = result.layer_changes
    assert [(r.status, r.is_guess, r.old_name, r.name) for r in changed] == [
        ("renamed", True, "head", "classifier"),
        ("renamed", True, "head.0", "classifier.0"),
        ("renamed", True, "head.1", "classifier.1"),
    ]
    assert row_line(changed[0]) == "renamed? head -> classifier"
    # A rename is still a difference (state_dict keys move), named where it happened.
    assert result.is_regression and result.outermost_changes == ("classifier",)
    data = json.loads(render_diff_json(result))
    assert data["layers"][0]["status"] == "renamed" and data["layers"][0]["guessed"] is True


def test_a_renamed_layer_that_also_changed_stays_removed_and_added() -> None:
    result = diff(Named("head"), Named("classifier", classes=5))
    statuses = sorted((r.status, r.name) for r in result.layer_changes)
    # The Flatten still matches by its facts; the Linear (10 -> 5) and its container do not.
    assert ("renamed", "classifier.0") in statuses
    assert ("removed", "head.1") in statuses and ("added", "classifier.1") in statuses
    assert all(not r.is_guess for r in result.layer_changes if r.status != "renamed")
