"""Numbers as users read them, and the training-memory estimate."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def training_bytes_estimate(
    param_bytes: int, trainable_param_bytes: int, buffer_bytes: int, activation_bytes: int
) -> int:
    """Memory for one training step with Adam, in bytes:

        params + buffers + grads (1×) + Adam's exp_avg and exp_avg_sq (2×) + saved activations

    Grads and both Adam states exist only for trainable parameters and take the parameter's
    dtype, hence ``3 × trainable_param_bytes``. Saved activations are estimated by every new
    tensor the forward pass produced (``activation_bytes``), an upper bound on what autograd
    keeps for backward. Not counted: the optimizer's step temporaries, allocator fragmentation,
    CUDA context, mixed-precision master copies.
    """
    return param_bytes + buffer_bytes + 3 * trainable_param_bytes + activation_bytes


def number_text(x: float) -> str:
    """``32``, ``32/7`` (an exact small fraction: strides after upsampling are ratios of
    sizes), else ``4.571``."""
    if float(x).is_integer():
        return str(int(x))
    ratio = Fraction(x).limit_denominator(1000)
    if abs(float(ratio) - x) <= 1e-9 * max(1.0, abs(x)):
        return f"{ratio.numerator}/{ratio.denominator}"
    return f"{x:.4g}"


def dims_text(values: Sequence[float]) -> str:
    """``51`` when every spatial dim agrees, else ``51×35``."""
    if len(set(values)) == 1:
        return number_text(values[0])
    return "×".join(number_text(v) for v in values)
