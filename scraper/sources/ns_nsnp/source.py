"""Nova Scotia as drawwatch sees it: how many candidates it selected from its EOI pool each
month, and nothing more (no draw dates, streams, scores or occupations)."""
from __future__ import annotations

from typing import Any

from scraper.sources.base import DrawLike
from scraper.sources.checks import Checks
from scraper.sources.provincial import ProvincialSource

URL = "https://liveinnovascotia.com/eoi-selection"


class NsNsnp(ProvincialSource):
    name = "ns_nsnp"
    title = "Nova Scotia Nominee Program EOI selections (monthly totals)"
    display_name = "Nova Scotia"
    province = "NS"
    # Monthly totals, updated once a month in Halifax office hours (8:00-17:00 Atlantic =
    # 7-16 on the service's Toronto clock): hourly then, every six hours otherwise.
    defaults = {"url": URL, "schedule": ["0 7-16 * * mon-fri", "0 */6 * * *"]}
    parsers = {"selection": "scraper.sources.ns_nsnp.parse:parse_ns_selection"}
    yearly = frozenset({"selection"})  # the months of the current year only
    points_label = "Nova Scotia EOI score"

    def headline(self, draw: DrawLike) -> str:
        """"Nova Scotia EOI selections, April 2026 (monthly total)"."""
        month = f"{draw.date:%B %Y}" if draw.date else (draw.extra or {}).get("month", "undated")
        return f"Nova Scotia EOI selections, {month} (monthly total)"

    def category_name(self, slug: str | None) -> str:
        from scraper.sources.ns_nsnp.parse import PROGRAM  # the parser's slug: loaded on use

        return "EOI selections (monthly totals)" if slug == PROGRAM else super().category_name(slug)

    def check(self, checks: Checks, profile: Any, draw: Any, facts: Any) -> bool:
        # A month's total says how many were selected, never who: nothing to hold a profile against.
        checks.check(None, "", "Nova Scotia publishes only how many candidates it selected in the month, not "
                     "by what score or occupation, so whether you were is not known")
        return super().check(checks, profile, draw, facts)
