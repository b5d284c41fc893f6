"""Passes without importing sympy (torch_compat/sympy_free.py: a cheap cold start).

The stand-ins must answer exactly as torch's own functions do, and a pass that runs with the
lazy modules must report exactly what a pass with sympy imported reports. The test process
has sympy imported (other test modules import it), so whatever needs the lazy modules in
place runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import sympy
import torch
import torch.fx.experimental.symbolic_shapes as real
from hypothesis import given, settings
from hypothesis import strategies as st

from netinspect.torch_compat import sympy_free
from tests.models.meta_ops import CASES
from tests.torch_features import GROUPED_MM, SHORTCUTS_REASON, startup_shortcuts_engage

ROOT = Path(__file__).parents[1]
MODELS = ROOT / "tests" / "models"

# --- the stand-ins answer as torch does --------------------------------------------------------

_scalars = st.one_of(
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-2, 2, allow_nan=False),
    st.none(),
    st.just("x"),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.lists(st.integers(0, 4), max_size=3).map(torch.Size),
    ),
    max_leaves=6,
)


def outcome(fn: Any, *args: Any) -> tuple[str, Any, list[str]]:
    """What a call gives: the value with its type, or the type of what it raises; and the
    warnings it gives."""
    with warnings.catch_warnings(record=True) as given:
        warnings.simplefilter("always")
        try:
            value = fn(*args)
        except Exception as exc:  # the kind of failure is what is compared
            return ("raises", type(exc).__name__, [str(w.message) for w in given])
    return ("returns", (type(value).__name__, value), [str(w.message) for w in given])


STAND_INS = sympy_free._STAND_INS[sympy_free.SYMBOLIC_SHAPES]


@pytest.mark.parametrize("name", sorted(STAND_INS))
@given(args=st.lists(_values, min_size=1, max_size=3))
@settings(max_examples=150, deadline=None)
def test_each_stand_in_answers_as_torchs_own_function(name: str, args: list[Any]) -> None:
    if not hasattr(real, name):  # an older torch: its kernels never ask for it
        pytest.skip(f"torch {torch.__version__} has no symbolic_shapes.{name}")
    ours, theirs = STAND_INS[name], getattr(real, name)
    arity = {"sym_and": len(args), "sym_or": len(args), "sym_eq": 2}.get(name, 1)
    if len(args) < arity:
        args = args + args[:1] * (arity - len(args))
    assert outcome(ours, *args[:arity]) == outcome(theirs, *args[:arity])


def test_the_stand_ins_hand_symbolic_values_to_torch() -> None:
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    needed = ("is_nested_int", "has_guarding_hint", "sym_eq", "guarding_hint_or_throw")
    if not all(hasattr(real, n) for n in needed):
        pytest.skip(f"torch {torch.__version__} lacks some of {needed}")
    env = ShapeEnv()
    s = env.create_unbacked_symint()
    assert STAND_INS["is_nested_int"](s) is False
    assert STAND_INS["has_guarding_hint"](s) is False
    ours, theirs = STAND_INS["sym_eq"]((s, 2), (s, 2)), real.sym_eq((s, 2), (s, 2))
    assert type(ours) is type(theirs) is torch.SymBool
    with pytest.raises(Exception, match=r"(?i)data.dependent|guard"):
        STAND_INS["guarding_hint_or_throw"](s)


def test_the_basic_stand_in_checks_against_sympys_basic_once_sympy_is_imported() -> None:
    Basic = sympy_free.Basic
    assert isinstance(sympy.Integer(3), Basic)
    assert isinstance(sympy.Symbol("a") + 1, Basic)
    assert issubclass(sympy.Symbol, Basic)
    assert not isinstance(3, Basic)
    assert not isinstance(torch.zeros(1), Basic)


def test_nothing_is_installed_where_sympy_is_imported_already() -> None:
    before = (sys.modules["sympy"], list(sys.meta_path))
    with sympy_free.kernels_without_sympy():
        assert sys.modules["sympy"] is before[0]
        assert sys.meta_path == before[1]
    assert sys.modules["sympy"] is before[0]


# --- fresh interpreters ------------------------------------------------------------------------

_RUN = """
import json, sys
{first}
from netinspect.pipeline.run import inspect_model
from netinspect.serialize import report_to_dict
results = {{}}
for target, inputs, hints in json.loads(sys.argv[1]):
    try:
        report = inspect_model(target, inputs, hints=hints, fast_imports=True)
        results[target] = report_to_dict(report)
    except Exception as exc:
        results[target] = f"{{type(exc).__name__}}: {{exc}}"
loaded = [m for m in ("sympy", "torch.fx.experimental.symbolic_shapes", "torch._dynamo")
          if m in sys.modules]
print("RESULT:" + json.dumps({{"results": results, "loaded": loaded}}))
"""

TARGETS: list[tuple[str, list[str] | None, dict[str, int] | None]] = [
    *[(f"{MODELS / 'meta_ops.py'}:{name}", inputs, None) for name, inputs in CASES],
    (f"{MODELS / 'llm.py'}:TinyLlama", ["1x16:int64"], None),
    (f"{MODELS / 'policy_models.py'}:MaskAny", ["x=2x8", "mask=2x8:ones"], None),
    (f"{MODELS / 'policy_models.py'}:ChecksItsWeights", ["3x8"], None),
    (f"{MODELS / 'policy_models.py'}:PackedLengths", ["2x5x4"], None),
    (f"{MODELS / 'policy_models.py'}:GroupedExperts", ["4x8"], None),
    (f"{MODELS / 'policy_models.py'}:UserError", ["2x8"], None),
    (f"{MODELS / 'core_models.py'}:DataDependent", ["3x4"], None),
    (f"{MODELS / 'core_models.py'}:Attention", ["2x5x16"], None),
    (str(ROOT / "configs" / "mlp.yaml"), None, None),
]
# Named dimensions take the symbolic path, which needs sympy, and a custom op's cpu kernel is
# wrapped by torch to import torch._dynamo: the lazy modules hand over to the real ones.
SYMBOLIC = (f"{MODELS / 'symbolic_models.py'}:TinyUNet", ["1x3xHxW"], {"H": 32, "W": 32})
CUSTOM_OP = (f"{MODELS / 'policy_models.py'}:NoMetaKernel", ["2x8"], None)


def run_fresh(targets: list[Any], first: str = "") -> dict[str, Any]:
    code = _RUN.format(first=first)
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(targets)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT:")]
    return json.loads(line.removeprefix("RESULT:"))  # type: ignore[no-any-return]


def without_sympy_reports_as_with_it(targets: list[Any]) -> dict[str, Any]:
    lazy = run_fresh(targets)
    eager = run_fresh(targets, first="import sympy, torch.fx.experimental.symbolic_shapes")
    assert lazy["results"] == eager["results"]
    return lazy


def test_passes_without_sympy_report_exactly_what_passes_with_it() -> None:
    outcome = without_sympy_reports_as_with_it([[t, i, h] for t, i, h in TARGETS])
    failed = {t: r for t, r in outcome["results"].items() if isinstance(r, str)}
    # Only the models whose own code raises (DataDependent goes on to cpu under "auto"):
    # where torch has no _grouped_mm, GroupedExperts' call of it is the model's own failure.
    expected = [f"{MODELS / 'policy_models.py'}:UserError"]
    if not GROUPED_MM:
        expected.insert(0, f"{MODELS / 'policy_models.py'}:GroupedExperts")
        assert "_grouped_mm" in failed[expected[0]]
    assert sorted(failed) == expected, failed
    # None of these needed sympy, symbolic_shapes or dynamo, building or running (where this
    # torch's kernels let the shortcuts engage; elsewhere only the time is lost).
    if startup_shortcuts_engage():
        assert outcome["loaded"] == []


def test_passes_that_need_the_real_modules_get_them() -> None:
    targets = [[t, i, h] for t, i, h in (*TARGETS[:2], CUSTOM_OP, SYMBOLIC, *TARGETS[2:4])]
    outcome = without_sympy_reports_as_with_it(targets)
    report = outcome["results"][SYMBOLIC[0]]
    assert isinstance(report, dict), report
    assert report["symbolic"] is not None
    assert isinstance(outcome["results"][CUSTOM_OP[0]], dict)
    assert outcome["loaded"] == ["sympy", "torch.fx.experimental.symbolic_shapes", "torch._dynamo"]


_SCENES = r"""
import sys, collections
import importlib._bootstrap_external as external
runs = collections.Counter()
exec_module = external._LoaderBasics.exec_module
def counted(self, module):
    runs[module.__name__] += 1
    return exec_module(self, module)
external._LoaderBasics.exec_module = counted

import torch
from torch import nn
from netinspect.pipeline.run import inspect_model
from netinspect.torch_compat import sympy_free

kept = {}

class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

class Plain(Linear):
    def forward(self, x):
        # Held past the pass: a stand-in class and the lazy module itself.
        from torch.fx.experimental import symbolic_shapes
        import sympy
        kept["Basic"], kept["module"] = sympy.Basic, sympy
        assert symbolic_shapes.expect_true(True) is True
        return self.fc(x)

class SubmoduleFirst(Linear):
    def forward(self, x):
        from sympy.printing.str import StrPrinter
        import sympy, sympy.core.numbers
        assert sympy.core.numbers.Integer is sympy.Integer
        assert StrPrinter().doprint(sympy.Symbol("a") + 3) == "a + 3"
        torch._check(x.shape[0] == 2)
        return self.fc(x)

class ImportsDynamo(Linear):
    def forward(self, x):
        import torch._dynamo
        assert not torch._dynamo.is_compiling()
        return self.fc(x)

def fresh(model):
    assert "sympy" not in sys.modules and "torch._dynamo" not in sys.modules
    return inspect_model(model, ["2x4"], device="meta", fast_imports=True).outputs

assert fresh(Plain()) == ((2, 4),)
assert "sympy" not in sys.modules, "a plain pass imported sympy"
assert not hasattr(torch.fx.experimental, "symbolic_shapes")
assert sympy_free._FINDER not in sys.meta_path
assert not isinstance(1, kept["Basic"])

assert fresh(SubmoduleFirst()) == ((2, 4),)
import sympy
assert type(sympy) is type(sys), type(sympy)
assert isinstance(sympy.Integer(1), kept["Basic"]), "a kept stand-in checks as sympy.Basic"
assert kept["module"].Integer is sympy.Integer, "the kept lazy module answers as sympy"
twice = [name for name, n in runs.items() if n > 1]
assert not twice, f"ran twice: {twice}"

# symbolic_shapes is still lazy: a pass that imports torch._dynamo loads it in place.
assert "torch.fx.experimental.symbolic_shapes" not in sys.modules
assert inspect_model(ImportsDynamo(), ["2x4"], device="meta", fast_imports=True).outputs == (
    (2, 4),
)
assert "torch._dynamo" in sys.modules and type(sys.modules["sympy"]) is type(sys)
from torch.fx.experimental.symbolic_shapes import ShapeEnv
assert ShapeEnv().create_unbacked_symint() is not None
print("SCENES OK")
"""


def test_lazy_modules_load_in_place_when_code_needs_them(tmp_path: Path) -> None:
    """Kept references, a submodule imported first, torch._dynamo imported mid-pass: each
    gets the real modules, and no module's code runs twice."""
    if not startup_shortcuts_engage():
        pytest.skip(SHORTCUTS_REASON)
    done = subprocess.run(
        [sys.executable, "-c", _SCENES], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SCENES OK" in done.stdout


_UNTOUCHED = """
import sys, types
import torch
from torch import nn
from netinspect.pipeline.run import inspect_model
from netinspect.pipeline.probe import probe_sizes
from netinspect.torch_compat import sympy_free

seen = []

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        seen.append((list(sys.meta_path), {n: sys.modules.get(n) for n in WATCHED}))
        return self.norm(self.fc(x))

WATCHED = ("sympy", "torch.fx.experimental.symbolic_shapes")
meta_path = list(sys.meta_path)
before = {n: sys.modules.get(n) for n in WATCHED}
assert inspect_model(Net(), ["2x4"], device="meta").outputs == ((2, 4),)
for path, modules in seen:
    assert path == meta_path, "a finder was added"
    for name, module in modules.items():
        assert module is None or module is before[name] or type(module) is types.ModuleType, (
            name, type(module))
assert not any(type(m).__name__ == "_LazyModule" for m in sys.modules.values())
assert not sympy_free.startup_shortcuts_active()
print("UNTOUCHED OK")
"""


def test_a_library_call_replaces_nothing_in_sys_modules_unless_asked(tmp_path: Path) -> None:
    """``inspect_model`` from a user's program or notebook runs torch's kernels as they are:
    no stand-in module, no import finder (the CLI asks for them with ``fast_imports``)."""
    done = subprocess.run(
        [sys.executable, "-c", _UNTOUCHED],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert "UNTOUCHED OK" in done.stdout, done.stderr
