"""Run torch's Python meta kernels without importing sympy (about a fifth of ``import torch``).

On the meta device torch runs many kernels in Python, and two of their helpers import sympy on
the first call only to look at it: every ``torch._check`` imports
``torch.fx.experimental.symbolic_shapes`` (which imports sympy) to call ``expect_true`` on a
plain ``bool``, and the type promotion of the reference kernels runs ``import sympy`` to ask
``isinstance(x, sympy.Basic)`` of plain tensors and numbers. With plain shapes both answers are
known without sympy: no object is a sympy expression while sympy is not imported.

``kernels_without_sympy`` puts a lazy module in place of each of the two while a pass runs, the
way ``importlib.util.LazyLoader`` does: the module torch's import finds is the real one, not yet
executed. Until it is, it answers only what it can answer exactly:
- the ``symbolic_shapes`` helpers that meta kernels call (``expect_true``, ``guard_or_false``,
  ``sym_eq``...) return torch's own answer for plain ``bool``/``int`` values (and tuples of
  them), and hand anything else (a ``SymInt``, a bad type) to the real function;
- ``sympy.Basic`` is a class no object is an instance of until sympy is imported, and after
  that checks against the real ``sympy.Basic``.

Any other attribute, a submodule's import or a call with symbolic values executes the real
module into the same module object, so it is the real one from then on, for every holder.
After the pass a module that was never needed is taken out of ``sys.modules`` again, so a later
``import sympy`` imports it the normal way. Where sympy or ``symbolic_shapes`` is already
imported (torchvision imports both; the symbolic-shape pass needs them), this does nothing.

Checked on torch 2.4.1, 2.9.1 and 2.14.1. Feature test: a lazy module answers only what torch's
own function answers for plain values, and any question it cannot answer exactly loads the real
module; so a torch whose kernels ask something else (2.4 and 2.6 call ``_advise_is_size``;
2.9 calls ``guard_size_oblivious`` with plain bools) simply loads sympy: the answer is torch's
own, only the time is lost. This patches the process (``sys.modules``, ``sys.meta_path``) while
it runs, so the library uses it only when asked (``inspect_model(..., fast_imports=True)``, as
the CLI does).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from netinspect.torch_compat.dynamo_free import kernels_without_dynamo

SYMPY = "sympy"
SYMBOLIC_SHAPES = "torch.fx.experimental.symbolic_shapes"

_INTS = (int, bool)


class _Lazy:
    """What a lazy module knows about itself (kept outside its namespace)."""

    def __init__(self, spec: importlib.machinery.ModuleSpec) -> None:
        self.spec = spec
        self.loading = False


_STATE: dict[types.ModuleType, _Lazy] = {}
_ACTIVE = [0]  # passes running now: the stand-in answers are given only during one


class _LazyModule(types.ModuleType):
    """A module whose code has not run yet; see the module docstring."""

    def __getattr__(self, name: str) -> Any:
        state = _STATE.get(self)
        if state is None:  # loaded, or not ours: the plain module's answer
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        if name == "__path__":
            return _package_path(self, state)
        if state.loading:  # as Python says of a partially initialized module
            raise AttributeError(
                f"partially initialized module {self.__name__!r} has no attribute {name!r} "
                "(most likely due to a circular import)"
            )
        stand_in = _STAND_INS.get(self.__name__, {}).get(name)
        if stand_in is not None and _ACTIVE[0]:
            return stand_in
        return getattr(_load(self), name)


def _package_path(module: types.ModuleType, state: _Lazy) -> Any:
    """A package's ``__path__`` is what the import system asks first when one of its
    submodules is imported (``import sympy.printing.str``), and on ``from sympy import x``: the
    package runs then, as a normal import runs it first. ``_AlreadyImported`` keeps the import
    system from running a second time a submodule that the package's code imported."""
    if state.spec.submodule_search_locations is None:  # not a package: the real one has none
        raise AttributeError(f"module {module.__name__!r} has no attribute '__path__'")
    if _FINDER in sys.meta_path:
        _RESUMED.add(module.__name__)
    return _load(module).__path__


class _AlreadyImported(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """While a pass runs: the import of a submodule that the lazy package's own code has just
    imported (see ``_package_path``) gets that module, not a second run of its code."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        module = sys.modules.get(fullname)
        if module is None or fullname.partition(".")[0] not in _RESUMED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, loader_state=module.__spec__)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return sys.modules[spec.name]

    def exec_module(self, module: types.ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None
        module.__spec__ = spec.loader_state  # the import system set it to ours


_RESUMED: set[str] = set()
_FINDER = _AlreadyImported()
_LOADING = threading.RLock()  # re-entrant: symbolic_shapes' code, run by _load, loads sympy


def _load(module: types.ModuleType) -> types.ModuleType:
    """Run the real module's code in ``module`` (or take the real one's namespace, where it was
    imported the normal way since) and make ``module`` a plain module."""
    if module not in _STATE:
        return module
    with _LOADING:  # a model's threads: one of them runs the code, the others wait for it
        return _load_locked(module)


def _load_locked(module: types.ModuleType) -> types.ModuleType:
    state = _STATE.get(module)
    if state is None:
        return module
    name = module.__name__
    current = sys.modules.get(name)
    if current is not None and current is not module and current not in _STATE:
        module.__dict__.update(current.__dict__)
    else:
        sys.modules[name] = module
        _set_on_parent(name, module)
        if state.spec.submodule_search_locations is not None:
            module.__path__ = state.spec.submodule_search_locations
        state.loading = True
        try:
            assert state.spec.loader is not None
            state.spec.loader.exec_module(module)
        except BaseException:
            state.loading = False
            module.__dict__.pop("__path__", None)
            if sys.modules.get(name) is module:  # as a failed import leaves it: not imported
                del sys.modules[name]
            _set_on_parent(name, module, remove=True)
            raise
    del _STATE[module]
    module.__class__ = types.ModuleType
    return module


def _real(module_name: str, function_name: str) -> Callable[..., Any]:
    """The real function, importing its module (through the lazy one, if that is in place)."""
    module = sys.modules.get(module_name)
    if module is None:
        module = importlib.import_module(module_name)
    return getattr(_load(module), function_name)  # type: ignore[no-any-return]


def _plain_bool(name: str) -> Callable[..., Any]:
    """``expect_true``, ``guard_or_false``...: a plain ``bool`` is its own answer."""

    def helper(a: Any, *args: Any, **kwargs: Any) -> Any:
        if type(a) is bool:
            return a
        return _real(SYMBOLIC_SHAPES, name)(a, *args, **kwargs)

    helper.__name__ = helper.__qualname__ = name
    return helper


def _forwarder(name: str) -> Callable[..., Any]:
    """A function that kernels import but call only with symbolic values: torch's own."""

    def helper(*args: Any, **kwargs: Any) -> Any:
        return _real(SYMBOLIC_SHAPES, name)(*args, **kwargs)

    helper.__name__ = helper.__qualname__ = name
    return helper


def _plain_eq(x: Any, y: Any) -> bool | None:
    """``sym_eq`` of plain ints and sequences of them; None where torch must answer.

    A tuple against a list is left to torch: 2.4 raises there and 2.14 compares them, so the
    only exact answer is torch's own (both agree on two tuples or two lists)."""
    if type(x) in _INTS and type(y) in _INTS:
        return bool(x == y)
    both_tuples = isinstance(x, tuple) and isinstance(y, tuple)
    if both_tuples or (isinstance(x, list) and isinstance(y, list)):
        if len(x) != len(y):
            return False
        parts = [_plain_eq(a, b) for a, b in zip(x, y, strict=True)]
        return None if None in parts else all(parts)
    return None


def sym_eq(x: Any, y: Any) -> Any:
    answer = _plain_eq(x, y)
    return _real(SYMBOLIC_SHAPES, "sym_eq")(x, y) if answer is None else answer


def _plain_join(name: str, join: Callable[[Iterator[bool]], bool]) -> Callable[..., Any]:
    """``sym_and``/``sym_or``: of plain bools, ``all``/``any``."""

    def helper(x: Any, *others: Any) -> Any:
        if type(x) is bool and all(type(o) is bool for o in others):
            return join(iter((x, *others)))
        return _real(SYMBOLIC_SHAPES, name)(x, *others)

    helper.__name__ = helper.__qualname__ = name
    return helper


def is_nested_int(s: Any) -> bool:
    if isinstance(s, torch.SymInt):
        return _real(SYMBOLIC_SHAPES, "is_nested_int")(s)  # type: ignore[no-any-return]
    return False


def has_guarding_hint(a: Any) -> bool:
    if isinstance(a, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        return _real(SYMBOLIC_SHAPES, "has_guarding_hint")(a)  # type: ignore[no-any-return]
    return True


def guarding_hint_or_throw(a: Any) -> Any:
    if type(a) in _INTS:
        return a
    return _real(SYMBOLIC_SHAPES, "guarding_hint_or_throw")(a)


class _UntilImported(type):
    """``sympy.Basic`` before sympy runs: nothing is an instance; afterwards, the real check."""

    def __instancecheck__(cls, obj: Any) -> bool:
        real = _real_basic()
        return real is not None and isinstance(obj, real)

    def __subclasscheck__(cls, sub: Any) -> bool:
        real = _real_basic()
        return real is not None and issubclass(sub, real)


def _real_basic() -> type | None:
    module = sys.modules.get(SYMPY)
    if module is None or module in _STATE:
        return None
    return getattr(module, "Basic", None)


class Basic(metaclass=_UntilImported):
    """Stands in for ``sympy.Basic`` while sympy is not imported."""


_STAND_INS: dict[str, dict[str, Any]] = {
    SYMBOLIC_SHAPES: {
        **{
            name: _plain_bool(name)
            for name in (
                "expect_true",
                "guard_or_false",
                "guard_or_true",
                "statically_known_true",
            )
        },
        # Imported by kernels (``is_contiguous``) but deprecated, and warns when called.
        "guard_size_oblivious": _forwarder("guard_size_oblivious"),
        "guarding_hint_or_throw": guarding_hint_or_throw,
        "has_guarding_hint": has_guarding_hint,
        "sym_eq": sym_eq,
        "sym_and": _plain_join("sym_and", all),
        "sym_or": _plain_join("sym_or", any),
        "is_nested_int": is_nested_int,
    },
    SYMPY: {"Basic": Basic},
}


def _set_on_parent(name: str, module: types.ModuleType, *, remove: bool = False) -> None:
    """As an import does: the parent package's attribute (taken away again only if ours)."""
    parent_name, _, child = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    if parent is None:
        return
    if not remove:
        setattr(parent, child, module)
    elif vars(parent).get(child) is module:
        delattr(parent, child)


def _install(name: str) -> types.ModuleType | None:
    """Put a lazy ``name`` in ``sys.modules``; None where it is imported or cannot be."""
    if name in sys.modules:
        return None
    parent = name.rpartition(".")[0]
    if parent and parent not in sys.modules:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return None
    module = importlib.util.module_from_spec(spec)
    module.__dict__.pop("__path__", None)  # asked for by a submodule's import: see _package_path
    module.__class__ = _LazyModule
    _STATE[module] = _Lazy(spec)
    sys.modules[name] = module
    _set_on_parent(name, module)
    return module


@contextmanager
def kernels_without_sympy() -> Iterator[None]:
    """While active, sympy and ``symbolic_shapes`` are imported only if a kernel needs them."""
    installed = [m for m in (_install(SYMPY), _install(SYMBOLIC_SHAPES)) if m is not None]
    _ACTIVE[0] += 1
    if installed:
        sys.meta_path.insert(0, _FINDER)
    try:
        yield
    finally:
        _ACTIVE[0] -= 1
        if installed:
            if _FINDER in sys.meta_path:
                sys.meta_path.remove(_FINDER)
            _RESUMED.clear()
        for module in installed:
            if module in _STATE and sys.modules.get(module.__name__) is module:
                del sys.modules[module.__name__]
                _set_on_parent(module.__name__, module, remove=True)


def startup_shortcuts_active() -> bool:
    """Whether a ``kernels_without_imports`` block is running now (the CLI asked for it)."""
    return _ACTIVE[0] > 0


@contextmanager
def kernels_without_imports() -> Iterator[None]:
    """Both: torch's meta kernels run without importing ``torch._dynamo`` or sympy. The
    pipeline wraps whole inspections in it, since constructors run kernels too (a rotary
    table's ``arange``)."""
    with kernels_without_dynamo(), kernels_without_sympy():
        yield
