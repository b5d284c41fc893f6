"""The pieces of symbolic shapes that need no model: the ``--input`` names and ``--hint``
grammar, the guard solver (against brute force and hand derivations), sets of sizes, and
the readable notation. Fast: no torch.

Hand derivations used below:
- vgg16's five 2×2/2 max-pools leave ⌊H/32⌋ rows; torch checks ⌊H/4⌋ ≥ 1 ... ⌊H/32⌋ ≥ 1,
  and ⌊H/32⌋ ≥ 1 ⟺ H ≥ 32.
- Without the adaptive pool the classifier needs 512·⌊H/32⌋·7 = 25088 (W = 224), so
  ⌊H/32⌋ = 7 ⟺ 224 ≤ H ≤ 255.
- RAFT: H mod 8 = 0 and ⌈H/8⌉ ≥ 16 ⟺ H ∈ {128, 136, ...}.
- A concat of x with an upsampled stride-2 path needs 2·⌈H/2⌉ = H ⟺ H even.
"""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from netinspect.analysis.guard_eval import compile_condition
from netinspect.analysis.guards import solve
from netinspect.analysis.intsets import (
    contains,
    first_missing,
    intersect,
    missing,
    nearest_missing,
    union,
)
from netinspect.analysis.symbolic import tidy
from netinspect.capture.exprs import python_text
from netinspect.errors import InputSpecError, UsageError
from netinspect.records import Progression as P
from netinspect.specs import (
    bind_hints,
    default_hints,
    dim_names,
    parse_hints,
    parse_input_spec,
    parse_input_specs,
)
from netinspect.symexpr import describe_set, evaluate, names_in, readable, readable_shape

H = sympy.Symbol("H", integer=True, positive=True)
floor, ceil, Mod, Eq, Ne = sympy.floor, sympy.ceiling, sympy.Mod, sympy.Eq, sympy.Ne


def members(conditions: list[sympy.Basic], lower: int = 2) -> tuple[P, ...]:
    return solve(conditions, H, lower=lower).members


def brute_force(conditions: list[sympy.Basic], lower: int, upto: int) -> list[int]:
    fs = [compile_condition(c) for c in conditions]
    return [x for x in range(lower, upto) if all(f({H: x}) for f in fs)]


# --- the --input grammar ---------------------------------------------------------------------


def test_names_make_dims_symbolic() -> None:
    spec = parse_input_spec("Bx3xHxW")
    assert spec.value.shape == ("B", 3, "H", "W")  # type: ignore[union-attr]
    assert parse_input_spec("Bx128:int64").value.dtype == "int64"  # type: ignore[union-attr]
    assert dim_names(parse_input_specs(["1x3xSxS", "1x3xSxS"])) == ["S"]
    assert parse_input_spec("text=BxL").value.shape == ("B", "L")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("1x3xmax_len", "a name cannot contain 'x'"),
        ("1x3xH-1", "unexpected '-'"),
        ("1x3x_H", "expected a dimension (a positive integer or a name such as H)"),
    ],
)
def test_bad_names(spec: str, reason: str) -> None:
    with pytest.raises(InputSpecError, match="malformed --input") as info:
        parse_input_spec(spec)
    assert reason in str(info.value)


def test_hints_grammar() -> None:
    assert parse_hints(["H=224,W=320", "B=2"]) == {"H": 224, "W": 320, "B": 2}
    for bad in ("H", "H=", "H=abc", "H=0", "=3", "H=1e3"):
        with pytest.raises(UsageError, match="--hint"):
            parse_hints([bad])
    with pytest.raises(UsageError, match="given twice"):
        parse_hints(["H=2", "H=3"])


def test_default_hints_come_from_the_default_input() -> None:
    specs = parse_input_specs(["Bx3xHxW"])
    hints = default_hints(specs, parse_input_specs(["1x3x299x299"]))
    # A 1 in the default would make torch treat the batch as a constant: 2 instead.
    assert {n: v for n, (v, _) in hints.items()} == {"B": 2, "H": 299, "W": 299}
    assert "torch fixes 0 and 1" in hints["B"][1]
    fallback = default_hints(parse_input_specs(["Bx3xHxW", "tokens=BxL:int64"]), ())
    assert {n: v for n, (v, _) in fallback.items()} == {"B": 2, "H": 224, "W": 224, "L": 128}
    bound = bind_hints(specs, {"B": 2, "H": 200, "W": 100})
    assert bound[0].value.shape == (2, 3, 200, 100)  # type: ignore[union-attr]


# --- the solver ----------------------------------------------------------------------------------


def test_vgg16_pool_checks_give_32_and_up() -> None:
    conditions = [floor(H / 4) >= 1, floor(H / 8) >= 1, floor(H / 16) >= 1, floor(H / 32) >= 1]
    solution = solve(conditions, H, lower=2)
    assert solution.members == (P(32, 1, None),)
    # Only the last pool's check binds: the others follow from it.
    assert solution.binding == (False, False, False, True)


def test_vgg16_without_avgpool_gives_224_to_255() -> None:
    assert members([Eq(512 * floor(H / 32) * 7, 25088)]) == (P(224, 1, 255),)


def test_exact_size_and_steps() -> None:
    assert members([Eq(H, 224)]) == (P(224, 1, 224),)
    assert describe_set(members([Eq(H, 224)])) == "exactly 224"
    raft = [Eq(Mod(H, 8), 0), floor((H - 1) / 8) + 1 >= 16]
    assert members(raft) == (P(128, 8, None),)
    assert describe_set(members(raft)) == "≥ 128, multiples of 8"
    even = [Eq(2 * (floor((H - 1) / 2) + 1), H)]
    assert members(even) == (P(2, 2, None),)
    # Odd sizes from 5: a step with an offset.
    assert describe_set(members([Eq(Mod(H, 2), 1), H >= 5])) == "≥ 5 in steps of 2 (5, 7, ...)"


def test_ceil_and_size_one_branches() -> None:
    # resnet-like: every stride-2 layer's output must not be 1 on the hint's branch.
    conditions = [Ne(floor((H - 1) / 2) + 1, 1), Ne(floor((H - 1) / 32) + 1, 1)]
    assert members(conditions) == (P(33, 1, None),)


def test_products_and_ratios_of_sizes() -> None:
    # ⌊H/3⌋·⌊H/5⌋ ≥ 10: 14 gives 4·2 = 8, 15 gives 5·3 = 15.
    assert members([floor(H / 3) * floor(H / 5) >= 10]) == (P(15, 1, None),)
    # A division by a size (view bookkeeping in RAFT): ⌊49·⌈H/8⌉/⌊H/8⌋⌋ = 49. For a
    # multiple of 8 both are q = H/8 and it holds from H = 8. Otherwise ⌈H/8⌉ = q + 1 and
    # ⌊49·(q + 1)/q⌋ = 49 + ⌊49/q⌋, which is 49 once q ≥ 50: every H ≥ 400.
    a, c = floor((H - 1) / 8) + 1, floor(H / 8)
    ratio = [c >= 1, Eq(floor(49 * a / c), 49)]
    assert members(ratio) == (P(8, 8, 392), P(400, 1, None))


def test_upper_bounds_and_unions() -> None:
    assert members([H <= 40, floor(H / 8) >= 2]) == (P(16, 1, 40),)
    assert members([(H <= 10) | (H >= 100)]) == (P(2, 1, 10), P(100, 1, None))


# Random conditions built from the operations torch's guards use; the solver must agree with
# evaluating every size one by one, including far past the point where it stops evaluating.
_terms = st.sampled_from(
    [
        H,
        floor(H / 2),
        floor(H / 3),
        floor((H - 1) / 4) + 1,
        Mod(H, 6),
        floor(H / 5) * floor(H / 7),
        floor(H / 8) * 3 + 1,
    ]
)
_relations = st.sampled_from([Eq, Ne, sympy.Ge, sympy.Le, sympy.Gt, sympy.Lt])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_terms, _relations, st.integers(0, 60)), min_size=1, max_size=3))
def test_solver_agrees_with_brute_force(parts: list[tuple[sympy.Expr, object, int]]) -> None:
    conditions = [rel(term, k) for term, rel, k in parts]  # type: ignore[operator]
    conditions = [c for c in conditions if c not in (sympy.true, sympy.false)]
    if not conditions:
        return
    solution = solve(conditions, H, lower=1)
    expected = brute_force(conditions, 1, 3000)
    assert [x for x in range(1, 3000) if contains(solution.members, x)] == expected
    for x in (10**6, 10**6 + 1, 10**6 + 5, 3 * 10**7 + 11):
        assert contains(solution.members, x) == all(
            compile_condition(c)({H: x}) for c in conditions
        )


# --- sets of sizes -------------------------------------------------------------------------------


def test_sets_of_sizes() -> None:
    resnet = [P(33, 1, None), P(1, 1, 1), P(2, 1, 32)]
    assert union(*([p] for p in resnet)) == (P(1, 1, None),)
    assert union([P(128, 8, None)], [P(8, 8, 120)]) == (P(8, 8, None),)
    assert intersect([P(2, 1, 223)], [P(32, 1, None)]) == (P(32, 1, 223),)
    assert first_missing([P(33, 1, None), P(1, 1, 1)]) == 2
    assert missing([P(33, 1, None), P(1, 1, 1)]) == list(range(2, 33))
    assert missing([P(128, 8, None)]) is None  # infinitely many
    assert nearest_missing([P(224, 1, 255)], 224) == 223
    assert describe_set((P(1, 1, 1), P(3, 1, 4), P(33, 1, None))) == "1, 3 to 4, ≥ 33"


# --- notation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("H//32", "⌊H/32⌋"),
        ("(H - 1)//2 + 1", "⌈H/2⌉"),
        ("(H - 1)//32 + 2", "⌈H/32⌉ + 1"),
        ("2*((H - 1)//4) + 2 == (H - 1)//2 + 1", "2·⌈H/4⌉ = ⌈H/2⌉"),
        ("512*(H//32)*(W//32)", "512·⌊H/32⌋·⌊W/32⌋"),
        ("(H//32)*(W//32) == 49", "⌊H/32⌋·⌊W/32⌋ = 49"),
        ("H % 8 == 0", "H mod 8 = 0"),
        ("(H - 3)//2 + 1 >= 1", "⌊(H − 3)/2⌋ + 1 ≥ 1"),
        ("32*(H//32)/7", "32·⌊H/32⌋/7"),
        ("-(-H//2)", "⌈H/2⌉"),
    ],
)
def test_readable_notation(text: str, shown: str) -> None:
    assert readable(text) == shown


def test_expressions_round_trip() -> None:
    expressions = [
        floor((H - 1) / 2) + 1,
        512 * floor(H / 32) * 7,
        Mod(H, 8),
        sympy.Max(1, floor(H / 2) - 3),
    ]
    for e in expressions:
        text = python_text(e)
        for x in (1, 7, 224, 1001):
            # Python itself reads the text back, and so does our evaluator.
            assert eval(text, {"max": max, "min": min}, {"H": x}) == e.subs(H, x)
            assert evaluate(text, {"H": x}) == e.subs(H, x)
    assert readable_shape(("B", "512", "H//32", "W//32")) == "[B,512,⌊H/32⌋,⌊W/32⌋]"
    assert names_in("512*(H//32)*(W//32)") == {"H", "W"}
    assert math.isclose(float(evaluate("32*(H//32)/7", {"H": 224})), 32.0)


def test_tidy_divides_out_common_factors() -> None:
    w = sympy.Symbol("W", integer=True, positive=True)
    product = Eq(512 * floor(H / 32) * floor(w / 32), 25088)
    assert python_text(tidy(product)) == "(H//32)*(W//32) == 49"
    assert python_text(tidy(H / 32 >= 1)) == "H >= 32"
    # Two formulas stay as torch wrote them.
    both = Eq(2 * (floor((H - 1) / 4) + 1), floor((H - 1) / 2) + 1)
    assert readable(python_text(tidy(both))) == "2·⌈H/4⌉ = ⌈H/2⌉"
