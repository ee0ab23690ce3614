"""What a profile must hold for a draw's rules to find it eligible, in terms a database
query can test: the matcher selects its candidates with them (``notifier.candidates``)
and runs the full explained check (``Source.check``) on those only.

Every condition is necessary, never sufficient: a profile that fails one is not eligible,
and not a near miss either unless the condition it fails is the score's. A source whose
``check`` only adds conditions to its parent's keeps its parent's ``needs``; one that
relaxes them must say so in its own ``needs`` (``None``: nothing known, every profile is
a candidate).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Needs:
    # Which of the profile's scores the draw's cut-off (score_min / score_max) is held
    # against: "crs", or a province code for the profile's points in that province.
    score: str | None = None
    programs: frozenset[str] | None = None  # at least one of these programs
    nclc: int | None = None  # at least this French level (a missing level counts as 0)
    clb: int | None = None  # at least this English level (likewise)
    occupations: frozenset[str] | None = None  # at least one of these NOC 2021 codes
    # A profile-creation date inside these days (either end open): which date, and the days.
    created: tuple[str, dt.date | None, dt.date | None] | None = None  # ("ee" | "eoi", first, last)
    impossible: bool = False  # a condition no profile can meet (a round drawwatch cannot check)
