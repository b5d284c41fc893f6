"""Run torch's Python meta kernels without importing ``torch._dynamo`` (about 1 s).

Many of torch's reference kernels, which the meta device runs for ops without a C++ meta
kernel (``addmm`` under every ``nn.Linear``, batch and layer norm, ``var_mean``...), are
wrapped in ``torch._disable_dynamo``. That wrapper imports ``torch._dynamo`` on its first
call, only to build a "don't compile this" guard, and caches the guard on the wrapped
function as ``__dynamo_disable``. Nothing is being compiled during an inspection, so the guard
would do nothing: ``kernels_without_dynamo`` caches the plain function there instead, for the
duration of an inspection (``sympy_free.kernels_without_imports``), and takes it away
afterwards, so a later ``torch.compile`` in the same process finds the wrappers as torch left
them.

When ``torch._dynamo`` is already imported, or torch's wrapper changes shape, this does
nothing: the kernels run exactly as torch wrote them, only the import is not avoided.

Checked on torch 2.4.1, 2.9.1 and 2.14.1. Feature test: the wrappers are found by the code of
torch's own ``_disable_dynamo`` wrapper, never by version. On 2.4 (and 2.6) none are found, and
nothing is changed (those releases import dynamo elsewhere anyway): only time is lost.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from torch.utils._python_dispatch import TorchDispatchMode

_CACHE_ATTRIBUTE = "__dynamo_disable"


class DispatchMode(TorchDispatchMode):  # type: ignore[no-untyped-call]  # torch's base is untyped
    """A ``TorchDispatchMode`` that torch does not wrap in ``torch._disable_dynamo``.

    By default every subclass's ``__torch_dispatch__`` is wrapped, and the wrapper imports
    ``torch._dynamo`` (with sympy: about as long as ``import torch``) on the first op and adds
    a frame-hook guard to every op after. Nothing is compiled during an inspection, so there is
    nothing for dynamo to skip: netinspect's modes derive from this class instead.
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


@cache
def _guarded_functions() -> tuple[Callable[..., Any], ...]:
    """Every function torch wraps with ``torch._disable_dynamo`` among the meta kernels,
    decompositions and references: the wrapper's closures are followed from those tables."""
    import torch
    import torch._compile
    import torch._decomp
    import torch._decomp.decompositions
    import torch._meta_registrations
    import torch._prims
    import torch._refs
    import torch._refs.nn.functional

    inner_code = getattr(torch._compile._disable_dynamo(lambda: None), "__code__", None)
    if inner_code is None or "fn" not in inner_code.co_freevars:
        return ()
    pool: list[Any] = []
    for table in torch._decomp.global_decomposition_table.values():
        pool += table.values()
    for module in (
        torch._refs,
        torch._refs.nn.functional,
        torch._prims,
        torch._decomp.decompositions,
        torch._meta_registrations,
    ):
        pool += [v for v in vars(module).values() if callable(v)]
    found: list[Callable[..., Any]] = []
    seen: set[int] = set()
    while pool:
        fn = pool.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        code = getattr(fn, "__code__", None)
        closure = getattr(fn, "__closure__", None) or ()
        if code is not None and code is inner_code:
            cells = dict(zip(code.co_freevars, closure, strict=True))
            found.append(cells["fn"].cell_contents)
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:
            pool.append(wrapped)
        for cell in closure:
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if callable(value) and hasattr(value, "__code__"):
                pool.append(value)
    return tuple(found)


@contextmanager
def kernels_without_dynamo() -> Iterator[None]:
    """While active, torch's ``_disable_dynamo``-wrapped kernels call straight through."""
    if "torch._dynamo" in sys.modules:
        yield
        return
    seeded = [f for f in _guarded_functions() if not hasattr(f, _CACHE_ATTRIBUTE)]
    try:
        for fn in seeded:
            setattr(fn, _CACHE_ATTRIBUTE, fn)
        yield
    finally:
        for fn in seeded:
            if getattr(fn, _CACHE_ATTRIBUTE, None) is fn:
                delattr(fn, _CACHE_ATTRIBUTE)


def kernels_are_wrapped() -> bool:
    """Whether this torch wraps its meta kernels in ``_disable_dynamo`` the way
    ``kernels_without_dynamo`` expects (2.9 on). Where it does not (2.4, 2.6), those releases'
    kernels also call symbolic-shape helpers the sympy stand-ins leave to torch, so a pass
    imports sympy and dynamo: the cold-start shortcuts do not engage (only time is lost)."""
    return bool(_guarded_functions())
