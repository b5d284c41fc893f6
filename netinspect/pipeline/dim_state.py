"""One named dim while ``netinspect sizes`` explores it: the sizes settled so far and how."""

from __future__ import annotations

from dataclasses import dataclass, field

from netinspect.records import Progression


@dataclass
class DimState:
    """What exploring one named dim has found so far (``pipeline.sizes``)."""

    name: str
    hint: int
    accepted: list[Progression] = field(default_factory=list)
    rejected: list[Progression] = field(default_factory=list)
    symbolic_passes: int = 0
    concrete_sizes: int = 0
    unresolved: bool = False
    # The sizes where the main pass's formulas hold (its region, when it succeeded).
    main_region: tuple[Progression, ...] = ()
    # A dim torch fixes on each pass (a size used as a Python int) is probed in a window:
    # (window, accepted sizes in it, whether 2x and 4x the window pass too).
    probed: tuple[int, list[int], bool] | None = None
    # Why the symbolic conditions were not trusted for this dim (then it is probed).
    unsolved: str | None = None

    def covered(self) -> list[Progression]:
        return self.accepted + self.rejected
