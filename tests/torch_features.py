"""What this torch gives the symbolic pass, asked of torch_compat's feature tests (never the
version string): tests expect the exact answer where torch gives it, and the documented,
labelled narrower answer elsewhere (docs/torch-versions.md)."""

from __future__ import annotations

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
# Torch 2.4, 2.6: the meta kernels import sympy and dynamo through other helpers, so the
# cold-start shortcuts do not engage (the answers are the same; only time is lost).
STARTUP_SHORTCUTS = kernels_are_wrapped()
# Torch < 2.9 has no ``_grouped_mm``: a model calling it fails in its own code there.
GROUPED_MM = optional_aten_op("_grouped_mm") is not None
