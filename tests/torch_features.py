"""What this torch gives the symbolic pass, asked of torch_compat's feature tests (never the
version string): tests expect the exact answer where torch gives it, and the documented,
labelled narrower answer elsewhere (docs/torch-versions.md)."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import torch

from netinspect.torch_compat.dynamo_free import kernels_are_wrapped
from netinspect.torch_compat.ops import optional_aten_op
from netinspect.torch_compat.shape_env import (
    attention_keeps_batch_symbolic,
    fake_conv_adds_index_conditions,
)

# Torch 2.4 to 2.10: a fake convolution adds 32-bit indexing conditions (3·H·W ≤ 2147483647)
# whose exact solution lies millions of sizes away. The pass's formulas are the same; the
# valid sets of a convolutional model are "not solved", and `sizes` probes those dims.
SIZES_SOLVED = not fake_conv_adds_index_conditions()
# Torch 2.4: attention fixes the batch size to its hint (the report says so).
ATTENTION_BATCH_SYMBOLIC = attention_keeps_batch_symbolic()
NOT_SOLVED = "not solved"
PROBED = "could not be solved exactly"
# Torch 2.4: a SymInt has no ``bit_length``, so a model calling it on a size cannot run
# symbolically at all; `sizes` then probes every dim (method "probing", with the reason).
SYMINT_BIT_LENGTH = hasattr(torch.SymInt, "bit_length")
_ENGAGE = """
import sys, torch
from torch import nn
from netinspect.torch_compat.sympy_free import kernels_without_imports
with kernels_without_imports(), torch.device("meta"), torch.no_grad():
    nn.LayerNorm(4)(nn.Linear(4, 4)(torch.zeros(2, 4)))
print(sorted(m for m in ("sympy", "torch._dynamo") if m in sys.modules))
"""


@cache
def startup_shortcuts_engage() -> bool:
    """Whether this torch's meta kernels run without importing sympy or dynamo under
    ``kernels_without_imports`` (torch 2.14; 2.4 and 2.6 import both through other helpers,
    2.9 sympy through ``guard_size_oblivious``): one Linear and one LayerNorm on meta in a
    fresh interpreter, where neither is imported yet. Elsewhere the answers are the same, and
    only the time is lost."""
    if not kernels_are_wrapped():
        return False
    done = subprocess.run(
        [sys.executable, "-c", _ENGAGE], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout.strip().splitlines()[-1] == "[]"


SHORTCUTS_REASON = "this torch's meta kernels import sympy or dynamo through helpers the "
SHORTCUTS_REASON += "start-up shortcuts leave to torch (only time is lost)"
# Torch < 2.9 has no ``_grouped_mm``: a model calling it fails in its own code there.
GROUPED_MM = optional_aten_op("_grouped_mm") is not None


def hf_models_run() -> bool:
    """Whether transformers builds PyTorch models on this torch (transformers 5 turns them
    off below torch 2.6; ``hf:`` then refuses in one line, checked in test_torch_versions)."""
    try:
        import transformers
    except ImportError:
        return False
    return bool(transformers.utils.is_torch_available())


HF_REASON = "transformers does not build PyTorch models on this torch (transformers 5 needs 2.6)"
