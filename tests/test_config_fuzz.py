"""Hostile configs: whatever the file holds, loading raises ConfigError or succeeds.

Never another exception: the CLI turns ConfigError into one ``path:line:col`` line, exit 2.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netinspect.errors import ConfigError
from netinspect.sources.config import load_config_target

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

KEYS = ["model", "layers", "replace", "input", "name", "description", "version", "args",
        "_target_", "Linear", "Conv2d", "residual", "concat", "body", "shortcut", "branches",
        "dim", "in_features", "out_features", "kernel_size", "vgg16", "bogus"]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([*KEYS, "1x3x32x32", "torch.nn.Linear", "os.system", "vgg16"]),
    st.text(max_size=12),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=12,
)


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        target = load_config_target(str(path))
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        assert "\n" not in str(exc).strip() or str(exc).count("\n") < 3
        return
    # A config that loads must also build (on meta) or fail with a ConfigError.
    import torch

    try:
        with torch.device("meta"):
            target.factory()
    except ConfigError:
        pass


@SETTINGS
@given(text=st.text(max_size=200))
def test_random_text_never_crashes(tmp_path: Path, text: str) -> None:
    _load(tmp_path, text)


@SETTINGS
@given(doc=st.dictionaries(st.sampled_from(KEYS), documents, max_size=5))
def test_random_structures_never_crash(tmp_path: Path, doc: dict[str, object]) -> None:
    _load(tmp_path, yaml.safe_dump(doc))
