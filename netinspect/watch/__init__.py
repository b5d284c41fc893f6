"""``netinspect watch``: re-inspect a model each time its files are saved.

``files`` (which files, polling), ``fork`` (one run in a fork of the warm watcher) and
``session`` (warm-up and the loop). Importing this package does not import torch.
"""
