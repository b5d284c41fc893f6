"""Exact evaluation of a condition on sizes: integers where the expression stays integral
(``⌊a/b⌋`` as ``a // b``), Fractions only for rational constants. sympy, no torch.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import sympy


class Unsolvable(Exception):
    """A condition outside what the residue analysis follows (an unknown function...)."""


@functools.lru_cache(maxsize=4096)
def split_fraction(arg: sympy.Basic) -> tuple[sympy.Basic, sympy.Basic]:
    """``arg`` as numerator and denominator (cached: the same floors recur on every residue)."""
    return sympy.fraction(sympy.together(arg))  # type: ignore[no-any-return]


def compare(op: str, sign: int) -> bool:
    return {
        "==": sign == 0,
        "!=": sign != 0,
        ">=": sign >= 0,
        ">": sign > 0,
        "<=": sign <= 0,
        "<": sign < 0,
    }[op]


# --- exact evaluation at one size --------------------------------------------------------------

Evaluator = Callable[[dict[sympy.Symbol, int]], Any]


def _floordiv(a: Any, b: Any) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return math.floor(Fraction(a) / Fraction(b))


def compile_condition(e: sympy.Basic) -> Evaluator:
    """A function that evaluates ``e`` exactly at given sizes: integers where the expression
    stays integral (``⌊a/b⌋`` as ``a // b``), Fractions only for rational constants."""
    if e is sympy.true or e is True:
        return lambda env: True
    if e is sympy.false or e is False:
        return lambda env: False
    if e.is_Integer:
        n = int(e)
        return lambda env: n
    if e.is_Rational:
        value = Fraction(int(e.p), int(e.q))
        return lambda env: value
    if isinstance(e, sympy.Symbol):
        return lambda env: env[e]
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        num, den = split_fraction(e.args[0])
        fn, fd = compile_condition(num), compile_condition(den)
        if isinstance(e, sympy.floor):
            return lambda env: _floordiv(fn(env), fd(env))
        return lambda env: -_floordiv(-fn(env), fd(env))
    args = [compile_condition(a) for a in e.args]
    if isinstance(e, sympy.Add):
        return lambda env: sum(f(env) for f in args)
    if isinstance(e, sympy.Mul):
        return lambda env: math.prod(f(env) for f in args)
    if isinstance(e, sympy.Pow):
        base, exp = args
        return lambda env: (
            base(env) ** exp(env) if exp(env) >= 0 else Fraction(base(env)) ** exp(env)
        )
    if isinstance(e, sympy.Mod):
        a, b = args
        return lambda env: a(env) % b(env)
    if isinstance(e, sympy.Max):
        return lambda env: max(f(env) for f in args)
    if isinstance(e, sympy.Min):
        return lambda env: min(f(env) for f in args)
    if isinstance(e, sympy.And):
        return lambda env: all(f(env) for f in args)
    if isinstance(e, sympy.Or):
        return lambda env: any(f(env) for f in args)
    if isinstance(e, sympy.Not):
        (a,) = args
        return lambda env: not a(env)
    if isinstance(e, sympy.core.relational.Relational):
        lhs, rhs = args
        op = e.rel_op
        return lambda env: compare(op, _sign(lhs(env) - rhs(env)))
    raise Unsolvable(f"cannot evaluate {type(e).__name__} in {e}")


def _sign(v: Fraction | int) -> int:
    return (v > 0) - (v < 0)


def safely(f: Evaluator, env: dict[sympy.Symbol, int]) -> bool:
    try:
        return bool(f(env))
    except ZeroDivisionError:
        return False
