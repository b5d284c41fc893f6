"""torch's symbolic-shape machinery, as the symbolic pass uses it: a ``ShapeEnv`` with one
symbol per named dim, fake tensors, and the module names of its exceptions.

Checked on torch 2.4.1, 2.9.1 and 2.14.1. ``ShapeEnv``, ``DimDynamic``, ``FakeTensorMode`` and
``ConstantSource`` are what ``torch.export`` builds on; they live under private module names
(``torch._subclasses``, ``torch._dynamo.source``) on every release in that range.

The stack summary: torch notes a source location for every symbol and guard by walking the
stack against a list of "uninteresting" files, which it builds by importing torch.export,
inductor and dynamo (seconds, the first time). netinspect finds the model's line itself, so
its ``ShapeEnv`` gets a stand-in that returns an empty location. The stand-in's form follows
the method's own signature (feature test): ``(SLoc, extra)`` where torch has ``SLoc`` and the
``framework_loc`` parameter (2.9 on), ``(FrameSummary, user_loc, extra)`` where it has
neither (2.4 to 2.8). Any other form keeps torch's own method: slower, right everywhere.

What is *not* decided here: whether this torch's guards can be trusted for a model's sizes.
That is the analysis's job (``analysis.guards`` evaluates every condition exactly, or says it
could not, and ``pipeline.sizes`` then probes instead). ``fake_conv_adds_index_conditions``
says whether this torch gives it such conditions (the tests expect a probed answer there).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import traceback
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

# The modules torch's symbolic machinery raises its own exceptions from: an exception from
# one of them is a limitation of the pass, not the model refusing a size.
SYMBOLIC_MACHINERY_MODULES = ("torch._subclasses", "torch.fx.experimental", "torch._dynamo")


@cache
def _stack_summary_stand_in() -> Callable[..., Any] | None:
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    original = getattr(ShapeEnv, "_get_stack_summary", None)
    if original is None:
        return None
    try:
        params = list(inspect.signature(original).parameters)
    except (TypeError, ValueError):
        return None
    try:
        from torch._guards import SLoc
    except ImportError:
        sloc = None
    else:
        sloc = SLoc
    if sloc is not None and params == ["self", "is_debug", "framework_loc"]:

        def two(is_debug: bool = False, framework_loc: str | None = None) -> Any:
            return sloc(framework_loc, None), ""

        return two
    if sloc is None and params == ["self", "is_debug"]:
        nowhere = traceback.FrameSummary("<netinspect>", 0, "<model>", lookup_line=False)

        def three(is_debug: bool = False) -> Any:
            return nowhere, "", ""

        return three
    return None


def new_shape_env() -> Any:
    """A fresh ``ShapeEnv`` that skips torch's stack summaries where it safely can."""
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    env = ShapeEnv()
    stand_in = _stack_summary_stand_in()
    if stand_in is not None:
        env._get_stack_summary = stand_in  # type: ignore[method-assign]
    return env


def create_named_symbol(env: Any, name: str, hint: int) -> Any:
    """A dynamic symbol for the named dim ``name`` with its hint (torch hands back a plain
    constant for 0 and 1, which it specialises)."""
    from torch._dynamo.source import ConstantSource
    from torch.fx.experimental.symbolic_shapes import DimDynamic

    return env.create_symbol(hint, source=ConstantSource(name), dynamic_dim=DimDynamic.DYNAMIC)


def fake_tensor_mode(env: Any) -> Any:
    """Fake tensors over ``env``; real (meta or cpu) weights are accepted as they are."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    return FakeTensorMode(shape_env=env, allow_non_fake_inputs=True)


@contextlib.contextmanager
def quiet_fake_tensor_log() -> Iterator[None]:
    """FakeTensorMode logs a traceback for every shape check that fails in a meta kernel; a
    failing size is an answer here, not an error to print."""
    logger = logging.getLogger("torch._subclasses.fake_tensor")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


INT32_MAX = 2**31 - 1


@cache
def fake_conv_adds_index_conditions() -> bool:
    """Whether this torch's fake convolution adds 32-bit indexing conditions on its sizes
    (``3·H·W ≤ 2147483647``: torch 2.4 to 2.10) to the guards of a symbolic pass. Their exact
    solution lies millions of sizes away, so ``sizes`` probes such a dim instead of solving it
    (``pipeline.sizes``). Feature test: one fake 3×3 convolution over a symbolic H×W input,
    its guards read for that bound."""
    import torch

    env = new_shape_env()
    h, w = (env.create_symintnode(create_named_symbol(env, n, 8), hint=8) for n in "HW")
    with fake_tensor_mode(env), torch.no_grad():
        x = torch.zeros(1, 3, h, w, device="meta")
        torch.nn.functional.conv2d(x, torch.zeros(1, 3, 3, 3, device="meta"))
    return any(str(INT32_MAX) in str(g.expr) for g in env.guards)


@cache
def attention_keeps_batch_symbolic() -> bool:
    """Whether ``nn.MultiheadAttention`` keeps a symbolic batch size symbolic (torch 2.14; 2.4
    fixes it to its hint, so a pass through attention holds for that batch size only and says
    so). Feature test: one fake attention call over a symbolic batch, its output's batch read."""
    import torch

    env = new_shape_env()
    batch = env.create_symintnode(create_named_symbol(env, "B", 2), hint=2)
    attention = torch.nn.MultiheadAttention(8, 2, batch_first=True, device="meta").eval()
    with fake_tensor_mode(env), torch.no_grad():
        x = torch.zeros(batch, 5, 8, device="meta")
        y, _ = attention(x, x, x, need_weights=False)
    return isinstance(y.shape[0], torch.SymInt)
