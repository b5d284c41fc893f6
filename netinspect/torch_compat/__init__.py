"""Torch private APIs, fenced: each module names the torch versions it was checked on."""
