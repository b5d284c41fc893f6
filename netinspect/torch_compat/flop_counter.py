"""``torch.utils.flop_counter``, optionally without importing triton along with it.

Checked on torch 2.4.1, 2.9.1 and 2.14.1.

flop_counter imports triton (about 6% of ``import torch``, where triton is installed) only so
that ``register_flop_formula`` can accept triton kernels. With ``hide_triton`` (the CLI's cold
start) the import runs with ``triton`` unimportable for a moment, and the type check gets a
stand-in that imports triton when it is first asked. Feature test: flop_counter has the
``_JITFunction`` name to replace; where it does not (torch 2.4 never imports triton there), or
triton is absent or already imported, it is imported the plain way, which is right everywhere.
A library caller's process is never touched unless asked (``hide_triton=False``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from types import ModuleType
from typing import Any

_NAME = "torch.utils.flop_counter"


class _TritonJITFunctionCheck(type):
    """``isinstance(x, <this>)`` is ``isinstance(x, triton.runtime.jit.JITFunction)``, with
    triton imported only when the question is first asked."""

    def __instancecheck__(cls, obj: Any) -> bool:
        try:
            from triton.runtime.jit import JITFunction
        except ImportError:
            return False
        return isinstance(obj, JITFunction)


class _LazyJITFunction(metaclass=_TritonJITFunctionCheck):
    pass


def import_flop_counter(*, hide_triton: bool) -> ModuleType:
    """torch's flop counter module; with ``hide_triton``, triton is not imported with it."""
    if (
        not hide_triton
        or _NAME in sys.modules
        or "triton" in sys.modules
        or importlib.util.find_spec("triton") is None
    ):
        return importlib.import_module(_NAME)
    # Its "triton not found" warning would be wrong: triton is there, just not yet imported.
    logger = logging.getLogger(_NAME)
    was_disabled = logger.disabled
    logger.disabled = True
    sys.modules["triton"] = None  # type: ignore[assignment]  # makes `import triton...` fail
    try:
        module = importlib.import_module(_NAME)
    finally:
        if "triton" in sys.modules and sys.modules["triton"] is None:
            del sys.modules["triton"]
        logger.disabled = was_disabled
    if hasattr(module, "_JITFunction"):
        setattr(module, "_JITFunction", _LazyJITFunction)  # noqa: B010  (a private name of torch's)
    return module
