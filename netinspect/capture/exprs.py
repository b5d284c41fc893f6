"""Plain sympy expressions as Python-syntax text over the named dims (``(H - 1)//2 + 1``):
the form reports store, which Python and ``sympy.sympify`` read back. sympy only, no torch.
"""

from __future__ import annotations

import sympy

_REL_TEXT = {"==": "==", "!=": "!=", ">=": ">=", ">": ">", "<=": "<=", "<": "<"}
# Binding strength: an operand weaker than its operator is parenthesised.
_ATOM, _POWER, _PRODUCT, _SUM = 4, 3, 2, 1


def python_text(e: sympy.Basic) -> str:
    """``e`` in Python syntax with ``//`` and ``%``, so that it reads like torch's shape code
    and ``sympy.parse_expr`` (or Python itself) reads it back."""
    return _py(e)[0]


def _wrap(text: str, strength: int, needed: int) -> str:
    return f"({text})" if strength < needed else text


def _py(e: sympy.Basic) -> tuple[str, int]:
    if e is sympy.true or e is True:
        return "True", _ATOM
    if e is sympy.false or e is False:
        return "False", _ATOM
    if e.is_Integer:
        n = int(e)
        return str(n), (_ATOM if n >= 0 else _SUM)
    if e.is_Rational:
        return f"{e.p}/{e.q}", _PRODUCT
    if isinstance(e, sympy.Symbol):
        return e.name, _ATOM
    if isinstance(e, sympy.Add):
        terms = list(e.as_ordered_terms())
        text = _py(terms[0])[0]
        for t in terms[1:]:
            if t.could_extract_minus_sign():
                text += " - " + _wrap(*_py(-t), _PRODUCT)
            else:
                text += " + " + _py(t)[0]
        return text, _SUM
    if isinstance(e, sympy.Mul):
        if e.could_extract_minus_sign():
            inner, strength = _py(-e)
            return "-" + _wrap(inner, strength, _PRODUCT), _SUM
        num, den = sympy.fraction(e)
        if den != 1:
            return f"{_wrap(*_py(num), _PRODUCT)}/{_wrap(*_py(den), _ATOM)}", _PRODUCT
        coeff, rest = e.as_coeff_mul()
        factors = ([str(coeff)] if coeff != 1 else []) + [
            _wrap(*_py(f), _POWER) for f in sorted(rest, key=sympy.default_sort_key)
        ]
        return "*".join(factors), _PRODUCT
    if isinstance(e, sympy.Pow):
        base, exp = e.args
        return f"{_wrap(*_py(base), _ATOM)}**{_wrap(*_py(exp), _ATOM)}", _POWER
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        num, den = sympy.fraction(sympy.together(e.args[0]))
        left = _wrap(*_py(num), _POWER)
        right = _wrap(*_py(den), _ATOM)
        if isinstance(e, sympy.floor):
            return f"{left}//{right}", _PRODUCT
        return f"-(-{left}//{right})", _SUM
    if isinstance(e, sympy.Mod):
        a, b = e.args
        return f"{_wrap(*_py(a), _POWER)} % {_wrap(*_py(b), _ATOM)}", _PRODUCT
    if isinstance(e, (sympy.Max, sympy.Min)):
        fn = "max" if isinstance(e, sympy.Max) else "min"
        return f"{fn}({', '.join(_py(a)[0] for a in e.args)})", _ATOM
    if isinstance(e, sympy.core.relational.Relational):
        return f"{_py(e.lhs)[0]} {_REL_TEXT[e.rel_op]} {_py(e.rhs)[0]}", 0
    if isinstance(e, (sympy.And, sympy.Or)):
        joiner = " and " if isinstance(e, sympy.And) else " or "
        return joiner.join(_wrap(*_py(a), 1) for a in e.args), 0
    if isinstance(e, sympy.Not):
        return "not " + _wrap(*_py(e.args[0]), 1), 0
    return str(e), _ATOM
