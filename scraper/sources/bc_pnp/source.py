"""British Columbia as drawwatch sees it: one page of invitations to apply. Skills
Immigration draws select by SIRS points or by wage; Entrepreneur Immigration draws by
their own registration score; some name the occupations they took, others only "all
priority health care occupations" (a list of BC's this page does not print)."""
from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, Mapping

from scraper.sources.base import DrawLike
from scraper.sources.checks import Checks, day
from scraper.sources.provincial import ProvincialSource

URL = "https://www.welcomebc.ca/immigrate-to-b-c/about-the-bc-provincial-nominee-program/invitations-to-apply"


@cache
def category_names() -> dict[str, str]:
    """Program slug -> its name. The parser knows the streams; it loads on first use, not
    with the source (a query that lists sources reads no page)."""
    from scraper.sources.bc_pnp.parse import KNOWN_ENTREPRENEUR, KNOWN_STREAMS, program

    return {program(s): f"Skills Immigration – {s}" for s in KNOWN_STREAMS} | {
        program(s, entrepreneur=True): f"Entrepreneur Immigration – {s}" for s in KNOWN_ENTREPRENEUR}


class BcPnp(ProvincialSource):
    name = "bc_pnp"
    title = "BC Provincial Nominee Program invitations to apply (Skills Immigration, Entrepreneur Immigration)"
    display_name = "BC PNP"
    province = "BC"
    # BC draws every week or two and updates the page in Vancouver office hours
    # (8:00-18:00 Pacific = 11:00-21:00 in the Toronto time schedules are read in): three
    # requests an hour then, every four hours otherwise (a 304 costs nothing to either side).
    defaults = {"url": URL, "schedule": ["*/20 11-21 * * mon-fri", "0 */4 * * *"]}
    parsers = {"invitations": "scraper.sources.bc_pnp.parse:parse_bc_invitations"}
    # The page keeps only recent draws ("To see previous invitations to apply, please visit
    # the Archives page"): a draw moving off it is not lost; a page suddenly yielding under
    # half its draws still is (store.plan).
    windowed = frozenset({"invitations"})
    points_label = "BC SIRS score"

    def headline(self, draw: DrawLike) -> str:
        """"BC Skills Immigration draw (Care: Health), 14 May 2026"."""
        extra = draw.extra or {}
        stream = extra.get("stream") or draw.title
        if (draw.program or "").startswith("entrepreneur-"):
            return f"BC Entrepreneur Immigration draw ({stream}), {day(draw.date)}"
        by = ", by wage" if extra.get("route") == "wage" else ""
        return f"BC Skills Immigration draw ({stream}{by}), {day(draw.date)}"

    @property
    def score_labels(self) -> Mapping[str, str]:
        from scraper.sources.bc_pnp.parse import ENTREPRENEUR, SIRS  # the parser names the scores

        return {SIRS: "BC SIRS points", ENTREPRENEUR: "BC Entrepreneur Immigration score"}

    def category_name(self, slug: str | None) -> str:
        return category_names().get(slug or "") or super().category_name(slug)

    def profile_score(self, profile: Any, draw: DrawLike) -> tuple[int | None, str]:
        from scraper.sources.bc_pnp.parse import ENTREPRENEUR

        # A profile's BC points are SIRS points: an Entrepreneur draw's score is another scale.
        if draw.score_system == ENTREPRENEUR:
            return None, self.score_labels[ENTREPRENEUR]
        return super().profile_score(profile, draw)

    def check(self, checks: Checks, profile: Any, draw: Any, facts: Any) -> bool:
        extra = draw.extra or {}
        occupations = extra.get("occupations")
        named = any(code in facts.targeted for code in profile.noc2021)
        if occupations and not named and (extra.get("priority_list") or not facts.targeted):
            # The draw took only some occupations, and the codes the page prints (if any)
            # are not all of them ("all priority veterinary care occupations": a list of
            # BC's this page does not print): unknown, not "none of yours".
            checks.check(None, "", f"the draw took only {occupations[:1].lower()}{occupations[1:]}; the page "
                         "does not give every one's NOC code, so whether yours is among them is not known")
            facts = dataclasses.replace(facts, targeted={})
        targets = super().check(checks, profile, draw, facts)
        if extra.get("route") == "wage":
            # Selected by the job offer's wage, not by points: nothing in a profile says it.
            wage = "; ".join(extra.get("selection") or ()) or "a minimum wage"
            checks.check(None, "", f"the draw selected by wage ({wage}); drawwatch does not know your wage")
        return targets
