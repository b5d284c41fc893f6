"""Symbolic dims as people read them: ``(H - 1)//32 + 1`` → ``⌈H/32⌉``. Pure (no torch, no
sympy): renderers use it on the expression strings a report carries.

Reports store each symbolic dim in Python syntax over the named dims (``H//32``,
``512*(H//32)*(W//32)``, ``H % 8 == 0``), which Python and sympy read back. This module
parses that small language (integers, names, ``+ - * // % **``, ``max``/``min``,
comparisons, ``and``/``or``/``not``) and prints it with floor/ceil brackets, ``·`` for
products and ``−`` for minus. ``(x − 1)//c + 1`` is shown as ``⌈x/c⌉``, its usual reading
(the two are equal for every integer x).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from netinspect.records import Progression

_TOKEN = re.compile(r"\s*(\d+|[A-Za-z_]\w*|//|\*\*|==|!=|>=|<=|[-+*/%()<>,])")


@dataclass(frozen=True, slots=True)
class Node:
    op: str  # "num", "name", "+", "*", "//", "/", "%", "**", "neg", "call", "cmp", "and", "or", "not"
    args: tuple[Node, ...] = ()
    value: str = ""


class ExprSyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprSyntaxError(f"unexpected {text[pos]!r} in {text!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i] if self.i < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if expected is not None and tok != expected:
            raise ExprSyntaxError(f"expected {expected!r}, got {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek():
            raise ExprSyntaxError(f"unexpected {self.peek()!r}")
        return node

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Node("or", tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.peek() == "and":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts))

    def negation(self) -> Node:
        if self.peek() == "not":
            self.take()
            return Node("not", (self.negation(),))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        if self.peek() in ("==", "!=", ">=", "<=", ">", "<"):
            op = self.take()
            return Node("cmp", (left, self.sum()), op)
        return left

    def sum(self) -> Node:
        terms = [self.product()]
        while self.peek() in ("+", "-"):
            op = self.take()
            term = self.product()
            terms.append(term if op == "+" else Node("neg", (term,)))
        return terms[0] if len(terms) == 1 else Node("+", tuple(terms))

    def product(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "//", "%", "/"):
            op = self.take()
            right = self.unary()
            if op == "*":
                left = node.args if node.op == "*" else (node,)
                node = Node("*", (*left, right))
            else:
                node = Node(op, (node, right))
        return node

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return Node("neg", (self.unary(),))
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek() == "**":
            self.take()
            return Node("**", (base, self.unary()))
        return base

    def atom(self) -> Node:
        tok = self.take()
        if tok == "(":
            node = self.disjunction()
            self.take(")")
            return node
        if tok.isdigit():
            return Node("num", value=tok)
        if tok and (tok[0].isalpha() or tok[0] == "_"):
            if self.peek() == "(":
                self.take()
                args = [self.disjunction()]
                while self.peek() == ",":
                    self.take()
                    args.append(self.disjunction())
                self.take(")")
                return Node("call", tuple(args), tok)
            return Node("name", value=tok)
        raise ExprSyntaxError(f"unexpected {tok!r}")


def parse(text: str) -> Node:
    return _Parser(text).parse()


# --- readable printing -------------------------------------------------------------------------

_CMP = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤", ">": ">", "<": "<"}
_ATOM, _POWER, _PRODUCT, _SUM, _CMP_LEVEL = 5, 4, 3, 2, 1


def _is_num(node: Node, value: int) -> bool:
    return node.op == "num" and int(node.value) == value


def _floor_of_x_minus_one(node: Node) -> tuple[Node, Node] | None:
    """(x, c) when ``node`` is ``(x − 1)//c``."""
    if node.op != "//" or node.args[0].op != "+":
        return None
    inner = node.args[0].args
    if not (inner[-1].op == "neg" and _is_num(inner[-1].args[0], 1)):
        return None
    rest = inner[:-1]
    return (rest[0] if len(rest) == 1 else Node("+", rest)), node.args[1]


def _ceil_terms(terms: list[Node]) -> list[Node]:
    """``k·((x − 1)//c)`` and a constant of at least k among the terms of a sum become
    ``k·⌈x/c⌉`` (the constant less k): ``(H − 1)//2 + 1`` → ``⌈H/2⌉``."""
    out = list(terms)
    for i, t in enumerate(terms):
        k, floor = 1, t
        if t.op == "*" and len(t.args) == 2 and t.args[0].op == "num":
            k, floor = int(t.args[0].value), t.args[1]
        found = _floor_of_x_minus_one(floor)
        j = next((j for j, c in enumerate(out) if c.op == "num" and int(c.value) >= k), None)
        if found is None or j is None:
            continue
        ceil = Node("ceil", found)
        out[i] = ceil if k == 1 else Node("*", (Node("num", value=str(k)), ceil))
        left = int(out[j].value) - k
        out[j] = Node("num", value=str(left)) if left else Node("drop")
    return [t for t in out if t.op != "drop"]


def _show(node: Node) -> tuple[str, int]:
    op = node.op
    if op == "num":
        return node.value, _ATOM
    if op == "name":
        return node.value, _ATOM
    if op in ("//", "ceil"):
        left, right = ("⌊", "⌋") if op == "//" else ("⌈", "⌉")
        num = _wrap(*_show(node.args[0]), _PRODUCT)
        den = _wrap(*_show(node.args[1]), _POWER)
        return f"{left}{num}/{den}{right}", _ATOM
    if op == "%":
        a = _wrap(*_show(node.args[0]), _PRODUCT)
        b = _wrap(*_show(node.args[1]), _POWER)
        return f"{a} mod {b}", _PRODUCT
    if op == "/":
        a = _wrap(*_show(node.args[0]), _PRODUCT)
        b = _wrap(*_show(node.args[1]), _POWER)
        return f"{a}/{b}", _PRODUCT
    if op == "*":
        return "·".join(_wrap(*_show(a), _POWER) for a in node.args), _PRODUCT
    if op == "**":
        return f"{_wrap(*_show(node.args[0]), _ATOM)}^{_wrap(*_show(node.args[1]), _ATOM)}", _POWER
    if op == "neg" and node.args[0].op == "//" and node.args[0].args[0].op == "neg":
        # -(-x//c) is Python's ceiling division
        inner = node.args[0]
        return _show(Node("ceil", (inner.args[0].args[0], inner.args[1])))
    if op == "neg":
        return "−" + _wrap(*_show(node.args[0]), _PRODUCT), _SUM
    if op == "+":
        terms = _ceil_terms(list(node.args))
        if len(terms) == 1:
            return _show(terms[0])
        text = _show(terms[0])[0] if terms else "0"
        for t in terms[1:]:
            if t.op == "neg":
                text += " − " + _wrap(*_show(t.args[0]), _PRODUCT)
            else:
                text += " + " + _wrap(*_show(t), _SUM)
        return text, _SUM
    if op == "call":
        return f"{node.value}({', '.join(_show(a)[0] for a in node.args)})", _ATOM
    if op == "cmp":
        return f"{_show(node.args[0])[0]} {_CMP[node.value]} {_show(node.args[1])[0]}", _CMP_LEVEL
    if op in ("and", "or"):
        return f" {op} ".join(_wrap(*_show(a), _CMP_LEVEL) for a in node.args), 0
    if op == "not":
        return "not " + _wrap(*_show(node.args[0]), _CMP_LEVEL), 0
    raise ExprSyntaxError(f"unknown node {op}")


def _wrap(text: str, strength: int, needed: int) -> str:
    return f"({text})" if strength < needed else text


def readable(text: str) -> str:
    """``(H - 1)//2 + 1`` → ``⌈H/2⌉``, ``512*(H//32)`` → ``512·⌊H/32⌋``, ``H >= 32`` → ``H ≥ 32``;
    text that is not an expression comes back unchanged."""
    try:
        return _show(parse(text))[0]
    except ExprSyntaxError:
        return text


def readable_shape(dims: tuple[str, ...] | list[str], sep: str = ",") -> str:
    """``[B,512,⌊H/32⌋,⌊W/32⌋]``."""
    return "[" + sep.join(readable(d) for d in dims) + "]"


def describe_set(parts: Sequence[Progression]) -> str:
    """``≥ 32``, ``224 to 255``, ``exactly 224``, ``≥ 128, multiples of 8``, ``no size works``; parts
    joined by commas (``1, 3 to 4, ≥ 33``)."""
    if not parts:
        return "no size works"
    texts = []
    for p in parts:
        if p.stop is None:
            if p.step == 1:
                texts.append(f"≥ {p.start}")
            elif p.start % p.step == 0:
                texts.append(f"≥ {p.start}, multiples of {p.step}")
            else:
                texts.append(
                    f"≥ {p.start} in steps of {p.step} ({p.start}, {p.start + p.step}, ...)"
                )
        elif p.stop == p.start:
            texts.append(str(p.start))
        elif p.step == 1:
            texts.append(f"{p.start} to {p.stop}")
        else:
            texts.append(f"{p.start} to {p.stop} in steps of {p.step}")
    if len(texts) == 1 and parts[0].stop == parts[0].start:
        return f"exactly {parts[0].start}"
    return ", ".join(texts)


def evaluate(text: str, sizes: Mapping[str, int]) -> Any:
    """The value of an expression at given sizes, in exact integer arithmetic."""
    return _value(parse(text), sizes)


def _value(node: Node, sizes: Mapping[str, int]) -> Any:
    op, args = node.op, node.args
    if op == "num":
        return int(node.value)
    if op == "name":
        return sizes[node.value]
    values = [_value(a, sizes) for a in args]
    if op == "+":
        return sum(values)
    if op == "neg":
        return -values[0]
    if op == "*":
        return math.prod(values)
    if op == "//":
        return values[0] // values[1]
    if op == "/":
        return Fraction(values[0]) / values[1]
    if op == "%":
        return values[0] % values[1]
    if op == "**":
        return values[0] ** values[1]
    if op == "call":
        return {"max": max, "min": min}[node.value](values)
    if op == "cmp":
        a, b = values
        return {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[
            node.value
        ]
    if op == "and":
        return all(values)
    if op == "or":
        return any(values)
    if op == "not":
        return not values[0]
    raise ExprSyntaxError(f"cannot evaluate {op}")


def names_in(text: str) -> set[str]:
    """The dim names an expression mentions (``{"H", "W"}`` for ``512*(H//32)*(W//32)``)."""
    try:
        node = parse(text)
    except ExprSyntaxError:
        return set()
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.op == "name":
            out.add(n.value)
        stack.extend(n.args)
    return out
