"""Pure functions of records (no torch): flatten point, folding, explain, diagnose, sizes."""

from __future__ import annotations
