"""Prince Edward Island as drawwatch sees it: one page, one table of the year's draws;
Labour & Express Entry invitations (no score stated) and Business Work Permit
Entrepreneur invitations with a minimum in PEI points."""
from __future__ import annotations

from scraper.sources.base import DrawLike
from scraper.sources.checks import day
from scraper.sources.provincial import ProvincialSource

URL = "https://www.princeedwardisland.ca/en/information/office-of-immigration/expression-of-interest-draws"


class PePnp(ProvincialSource):
    name = "pe_pnp"
    title = "Prince Edward Island Provincial Nominee Program EOI draws"
    display_name = "Prince Edward Island"
    province = "PE"
    # PEI draws about monthly, on weekdays, in Atlantic office hours (an hour ahead of the
    # service's Ottawa clock): every 20 minutes then, every 3 hours otherwise.
    defaults = {"url": URL, "schedule": ["*/20 7-17 * * mon-fri", "0 */3 * * *"]}
    parsers = {"draws": "scraper.sources.pe_pnp.parse:parse_pe_draws"}
    # The table holds the current year only: last year's rows leave it in January.
    windowed = frozenset({"draws"})
    yearly = frozenset({"draws"})
    score_labels = {"crs": "CRS", "pei_points": "PEI points"}
    points_label = "PEI points"

    def headline(self, draw: DrawLike) -> str:
        """"PEI Labour & Express Entry invitations, 18 Jun 2026"."""
        return f"{draw.title}, {day(draw.date)}"
