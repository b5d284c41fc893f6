"""Where models come from: names, files, configs, weights -> ``ModelTarget`` -> module."""

from __future__ import annotations
