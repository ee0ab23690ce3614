"""The conditions a source's rules state about a profile and a draw, in sentences a user
can check against the official page: score against the cut-off, occupations against
the targeted ones, profile dates against the draw's window.

Shared by every source's rules (``Source.check``) and by the matcher, which collects
them into a decision; duck-typed on the draw (``store.models.Draw``) and the profile
(``notifier.profile.MatchProfile``) so that it sits below both.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from store.reference.noc import lookup, to_2016

# Profile creation dates are days as Ottawa/Toronto shows them (the draws' own clock):
# a window ending "April 28, 11:59 p.m." is stored as 03:59 UTC on the 29th, and the
# 29th must not count as inside it.
DRAW_ZONE = ZoneInfo("America/Toronto")


def day(value: dt.date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "undated"


def moment(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "?"


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands datetimes back naive; they were stored in UTC.
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


# Cached: a draw's moments (window, tie-break) are converted for each of its candidates.
@lru_cache(maxsize=1024)
def local_day(value: dt.datetime) -> dt.date:
    return _as_utc(value).astimezone(DRAW_ZONE).date()


@lru_cache(maxsize=4096)  # the same few codes, named in decision after decision
def noc_title(code: str) -> str:
    unit = lookup(code)
    return f"{code} {unit.title}" if unit else code


@lru_cache(maxsize=256)  # once per draw, not once per profile checked against it
def _span(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """A profile-creation window, worded."""
    return (f"between {moment(start)} and {moment(end)}" if start and end
            else f"by {moment(end)}" if end else f"from {moment(start)}")


# Plurals of the things a profile-creation window applies to, where adding "s" is wrong.
_PLURALS = {"expression of interest": "expressions of interest"}


class Checks:
    """Collects conditions: met -> reasons; unmet or unknown -> unmet."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.unmet: list[str] = []
        self.all_met = True
        self.score_gap: int | None = None  # points under the cut-off, when only the score failed
        self.non_score_unmet = False

    def check(self, met: bool | None, yes: str, no: str, *, score: bool = False) -> None:
        if met:
            self.reasons.append(yes)
            return
        self.all_met = False
        self.unmet.append(no)
        if not score:
            self.non_score_unmet = True

    def score(self, draw: Any, mine: int | None, label: str, tiebreak_date: dt.date | None) -> None:
        """The profile's score ``mine`` (called ``label``) against the draw's cut-off or range."""
        lo, hi = draw.score_min, draw.score_max
        if lo is None and hi is None:
            return
        if mine is None:
            self.check(None, "", f"your {label} is not in your profile (the cut-off was {lo})")
            self.non_score_unmet = True
            return
        if hi is not None and mine > hi:
            self.check(False, "", f"your {label} {mine} is above this draw's range {lo}-{hi}")
            self.non_score_unmet = True
            return
        if lo is None or mine > lo:
            where = f"inside the range {lo}-{hi}" if hi is not None else f"above the minimum {lo}"
            self.check(True, f"your {label} {mine} is {where}", "")
            return
        if mine == lo:
            if draw.tiebreak_time is not None:
                self._tiebreak(draw, mine, label, tiebreak_date)
                return
            self.check(True, f"your {label} {mine} is at the minimum {lo}", "")
            return
        self.score_gap = lo - mine
        self.check(False, "", f"your {label} {mine} is {lo - mine} below the minimum {lo}", score=True)

    def _tiebreak(self, draw: Any, mine: int, label: str, tiebreak_date: dt.date | None) -> None:
        # At the cut-off score only profiles submitted before the tie-break moment were invited.
        when = moment(draw.tiebreak_time)
        if tiebreak_date is None:
            self.check(None, "", f"your {label} {mine} equals the minimum, and the tie-break "
                       f"({when}) needs your profile's creation date")
            self.non_score_unmet = True
            return
        before = tiebreak_date < local_day(draw.tiebreak_time)
        self.check(before, f"your {label} {mine} equals the minimum and your profile "
                   f"({tiebreak_date}) predates the tie-break {when}",
                   f"your {label} {mine} equals the minimum but your profile ({tiebreak_date}) "
                   f"is not older than the tie-break {when}")
        if not before:
            self.non_score_unmet = True

    def occupations(self, profile: Any, targeted: dict[str, str], draw: Any, what: str) -> bool:
        """Targeted NOCs against the profile's; True when one of them is targeted."""
        mine = [c for c in profile.noc2021 if c in targeted]
        if mine:
            shown: dict[str, list[str]] = {}  # the code the subscriber gave -> the draw's codes it hits
            for code in sorted(mine)[:3]:
                given = profile.noc2021[code]
                published = [c for c in draw.noc_codes or [] if c == code or (len(c) == 4 and c == given)]
                if targeted[code] == "crosswalk":
                    published = sorted(set(draw.noc_codes or []) & to_2016(code)) or published
                # The subscriber's own code when the draw printed it (2173 on a 2016-coded page).
                hit = given if given in published else published[0] if published else code
                if hit not in shown.setdefault(given, []):
                    shown[given].append(hit)
            # Name the code the subscriber gave: their 2016 code 2173 is not "your NOC 21231".
            leads = [f"your NOC {noc_title(given)}" if hits == [given]
                     else f"NOC {', '.join(hits)} (your {noc_title(given)})" for given, hits in shown.items()]
            self.check(True, f"{what} {', '.join(leads)}", "")
            return True
        if not profile.noc2021:
            self.check(None, "", f"{what} {len(targeted)} occupations; your profile has no NOC code")
        else:
            self.check(False, "", f"{what} {len(targeted)} occupations, none of yours "
                       f"({', '.join(sorted(set(profile.noc2021.values())))})")
        return False

    def window(self, draw: Any, created: dt.date | None, what: str) -> None:
        """A profile created on ``created`` against the draw's profile-creation window."""
        start, end = draw.window_start, draw.window_end
        if start is None and end is None:
            return
        span = _span(start, end)
        if created is None:
            whats = _PLURALS.get(what, f"{what}s")
            self.check(None, "", f"the draw took {whats} created {span}; your profile has no {what} creation date")
            return
        # Profile dates are days: a day overlapping the window counts as inside.
        inside = (start is None or created >= local_day(start)) and (end is None or created <= local_day(end))
        self.check(inside, f"your {what} ({created}) was created inside the window ({span})",
                   f"your {what} ({created}) was not created in the window ({span})")
