"""Checkpoint files read lazily: safetensors headers, torch zips mapped onto meta, sharded
indexes and model directories. ``detect`` imports nothing heavy; ``read`` is the entry."""
