"""``python -m netinspect ...``: exactly the ``netinspect`` script, in whatever Python runs it
(a project's own virtualenv, next to the user's packages)."""

from __future__ import annotations

from netinspect_cli.main import main

if __name__ == "__main__":
    main()
