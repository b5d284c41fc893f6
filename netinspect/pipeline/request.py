"""What flows between the pipeline's steps: the resolved request and one captured pass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from netinspect.capture.bridge import MetaBridge
from netinspect.capture.hooks import CallCapture
from netinspect.checkpoint_records import WeightsReport
from netinspect.pipeline.device import Plan
from netinspect.pipeline.inputs import InputsArg
from netinspect.pipeline.symbolic import BoundInputs
from netinspect.sources.target import ModelTarget
from netinspect.specs import InputSpec


@dataclass
class Request:
    """What to inspect and how, once the target is resolved and the device chosen."""

    target: ModelTarget
    device: torch.device
    is_auto: bool
    dtype: str | None
    specs: tuple[InputSpec, ...] | None
    inputs: InputsArg
    float_dtype: torch.dtype
    weights: str | None = None
    # --weights-partial: load what fits, keep the rest as initialised.
    weights_partial: bool = False
    # What loading ``weights`` found, tensor by tensor (set when the model is built).
    weights_report: WeightsReport | None = None
    forward_args: Mapping[str, Any] = field(default_factory=dict)
    # The caller's own module (or a copy on the requested device/dtype), when one was given.
    model: nn.Module | None = None
    notes: list[str] = field(default_factory=list)
    # True when ``model`` is the caller's own object (not a copy): what its forward changes
    # in it is put back after the pass (capture.guard).
    is_callers_module: bool = False
    # With named input dims: their specs and hints (``specs`` above is then bound to them).
    symbolic: BoundInputs | None = None


@dataclass
class PassResult:
    capture: CallCapture
    output: Any
    exception: BaseException | None
    bridge: MetaBridge
    plan: Plan
    # Set when no plan could get past a meta limit: the error message, in plain words.
    failure_message: str | None = None
