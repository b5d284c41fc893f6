"""A model file that fails while it is imported."""

raise ValueError("this file refuses to load")
