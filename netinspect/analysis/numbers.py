"""Numbers as users read them."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


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
