"""The netinspect command line (installed as the ``netinspect_cli`` package)."""
