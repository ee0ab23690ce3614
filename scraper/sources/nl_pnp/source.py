"""Newfoundland and Labrador as drawwatch sees it: batches of invitations to apply from the
expression-of-interest pool, each with its count and its split between the province's
own program and the Atlantic Immigration Program; no score, no occupations."""
from __future__ import annotations

from typing import Any

from scraper.sources.base import DrawLike
from scraper.sources.checks import Checks, day
from scraper.sources.provincial import ProvincialSource

URL = "https://www.gov.nl.ca/immigration/invitations-to-apply-updates"


class NlPnp(ProvincialSource):
    name = "nl_pnp"
    title = "Newfoundland and Labrador invitations to apply (NLPNP and AIP)"
    display_name = "Newfoundland and Labrador"
    province = "NL"
    # Batches come every two or three weeks, posted in St. John's office hours
    # (8:30-16:30 Newfoundland time = 7-15 on the service's Toronto clock): twice an hour
    # then, every six hours otherwise.
    defaults = {"url": URL, "schedule": ["*/30 7-15 * * mon-fri", "0 */6 * * *"]}
    parsers = {"updates": "scraper.sources.nl_pnp.parse:parse_nl_updates"}
    points_label = "NL EOI score"

    def headline(self, draw: DrawLike) -> str:
        """"Newfoundland and Labrador invitations to apply (NLPNP – 89, AIP – 19), 10 Jun 2026"."""
        notes = (draw.extra or {}).get("notes")
        return f"Newfoundland and Labrador invitations to apply{f' ({notes})' if notes else ''}, {day(draw.date)}"

    def category_name(self, slug: str | None) -> str:
        from scraper.sources.nl_pnp.parse import PROGRAM  # the parser's slug: loaded on use

        return "NLPNP and AIP invitations to apply" if slug == PROGRAM else super().category_name(slug)

    def check(self, checks: Checks, profile: Any, draw: Any, facts: Any) -> bool:
        # The page states how many were invited, never by what: nothing to hold a profile against.
        checks.check(None, "", "the page states only how many were invited, not by what score or occupation, "
                     "so whether you were is not known")
        return super().check(checks, profile, draw, facts)
