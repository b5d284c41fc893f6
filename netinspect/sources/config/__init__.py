"""YAML model configs, format version 1 (documented in ``configs/README.md``).

``load_config_target`` reads and checks the whole file up front (structure, layer names,
keyword names, argument counts, import permissions, input specs), so a mistake is reported
as ``path:line:col: message`` before any model is built. What can only be known by building
(a constructor rejecting a value, a ``replace:`` path that the built model lacks) is reported
the same way from the factory, at the line of the layer or path concerned.

The file is read with a line-tracking loader on top of ``yaml.SafeLoader``: only plain YAML
(no Python tags). A ``_target_`` is ``module.Name`` (one attribute after the longest
importable module); by default only nn.Module classes under ``torch.nn``,
``torchvision.models`` and ``torchvision.ops`` and torchvision model builders, unless the user
allows more prefixes.
"""

from __future__ import annotations

from netinspect.sources.config.imports import DEFAULT_IMPORT_PREFIXES
from netinspect.sources.config.parser import FORMAT_VERSION, load_config
from netinspect.sources.config.plan import ConfigPlan
from netinspect.sources.config.reader import read_config
from netinspect.sources.target import ModelTarget

__all__ = [
    "DEFAULT_IMPORT_PREFIXES",
    "FORMAT_VERSION",
    "ConfigPlan",
    "load_config",
    "load_config_target",
    "read_config",
]


def load_config_target(path: str, *, allow_import: tuple[str, ...] = ()) -> ModelTarget:
    """A ModelTarget for a YAML config: checked now, built when the inspector calls it."""
    plan = load_config(path, allow_import=allow_import)
    return ModelTarget(
        name=plan.name or path,
        source="config",
        factory=plan.build,
        default_inputs=plan.inputs or plan.family_inputs,
        family=plan.family,
        default_args=plan.args,
        description=plan.description,
    )
