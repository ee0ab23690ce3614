"""What a provincial nominee program's rules share: a draw selects from the province's
own pool (scored in the province's points) or from Express Entry (CRS, with an Express
Entry profile window), may name the occupations it targets, and its stream may accept
only some occupations or ask for a language level.

A province's source subclasses ``ProvincialSource`` and sets what differs.
"""
from __future__ import annotations

from typing import Any, ClassVar

from scraper.sources.base import DrawLike, Source
from scraper.sources.checks import Checks, local_day
from scraper.sources.needs import Needs


class ProvincialSource(Source):
    province: ClassVar[str]
    points_label: ClassVar[str]  # what the province's own score is called in a decision
    # stream slug -> (NCLC in French, CLB in English) it requires
    language_streams: ClassVar[dict[str, tuple[int, int]]] = {}
    # program slug -> whom alone its selections were open to (a special measure, e.g.
    # residents of Ukraine): no profile is told it fits one on points and occupation alone.
    restricted_programs: ClassVar[dict[str, str]] = {}

    def profile_score(self, profile: Any, draw: DrawLike) -> tuple[int | None, str]:
        """The profile's score to hold against the draw's cut-off, and its name."""
        if draw.score_system == "crs":
            return profile.crs, "CRS"
        return profile.provincial_points.get(self.province), self.points_label

    def check(self, checks: Checks, profile: Any, draw: Any, facts: Any) -> bool:
        if draw.program in self.restricted_programs:
            checks.check(None, "", f"the selection was open only to {self.restricted_programs[draw.program]}")
        targeted = facts.targeted
        targets = bool(targeted) and checks.occupations(profile, targeted, draw, "the draw targets")
        if not targeted and facts.stream_nocs:
            # A draw that names no occupations still only selects those its stream accepts
            # (Skilled Trades: trades): not a match for every occupation.
            checks.occupations(profile, facts.stream_nocs, draw, "the stream accepts")
        if draw.program in self.language_streams:
            self._language(checks, profile, *self.language_streams[draw.program])
        mine, label = self.profile_score(profile, draw)
        checks.score(draw, mine, label, None)
        if draw.score_system == "crs":
            checks.window(draw, profile.ee_profile_created, "Express Entry profile")
        else:
            checks.window(draw, profile.eoi_created, "expression of interest")
        return targets

    def needs(self, draw: Any, facts: Any) -> Needs:
        # check's conditions above, as the query asks them (profile_score's choice of score).
        occupations = facts.targeted or facts.stream_nocs
        need_fr, need_en = self.language_streams.get(draw.program, (None, None))
        crs = draw.score_system == "crs"
        start, end = draw.window_start, draw.window_end
        created = None if start is None and end is None else (
            "ee" if crs else "eoi", start and local_day(start), end and local_day(end))
        return Needs(score="crs" if crs else self.province, nclc=need_fr, clb=need_en, created=created,
                     occupations=frozenset(occupations) if occupations else None)

    @staticmethod
    def _language(checks: Checks, profile: Any, need_fr: int, need_en: int) -> None:
        ok = (profile.nclc or 0) >= need_fr and (profile.clb or 0) >= need_en
        checks.check(ok, f"your French NCLC {profile.nclc} and English CLB {profile.clb} meet the stream's "
                     f"NCLC {need_fr} / CLB {need_en}",
                     f"the stream needs NCLC {need_fr} in French and CLB {need_en} in English; you have "
                     f"NCLC {profile.nclc if profile.nclc is not None else '?'} / "
                     f"CLB {profile.clb if profile.clb is not None else '?'}")
