"""Comparing reports, baselines on disk, and the snapshot/check runs."""

from __future__ import annotations
