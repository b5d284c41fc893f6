"""One forward pass -> rows: hooks, the function mode, FLOP counting."""

from __future__ import annotations
