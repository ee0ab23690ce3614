"""Alberta as drawwatch sees it: the AAIP processing information page's draw table.
Each draw is one stream or pathway, scored in Alberta's worker EOI score; many take only
a sector's occupations, which the page names in words, never as codes."""
from __future__ import annotations

from typing import Any, Mapping

from scraper.sources.base import DrawLike
from scraper.sources.checks import Checks, day
from scraper.sources.provincial import ProvincialSource

URL = "https://www.alberta.ca/aaip-processing-information"


class AbAaip(ProvincialSource):
    name = "ab_aaip"
    title = "Alberta Advantage Immigration Program draws (AAIP processing information)"
    display_name = "Alberta AAIP"
    province = "AB"
    # Alberta draws several times a week and updates the page in Edmonton office hours
    # (8:00-17:00 Mountain = 10-19 on the service's Toronto clock): three requests an hour
    # then, every four hours otherwise.
    defaults = {"url": URL, "schedule": ["*/20 10-19 * * mon-fri", "0 */4 * * *"]}
    parsers = {"processing": "scraper.sources.ab_aaip.parse:parse_ab_processing"}
    yearly = frozenset({"processing"})  # the current year's draws only (last year's: a PDF)
    points_label = "Alberta EOI score"

    def headline(self, draw: DrawLike) -> str:
        """"AAIP Rural Renewal Stream draw, 10 Jun 2026"."""
        return f"AAIP {draw.title} draw, {day(draw.date)}"

    @property
    def score_labels(self) -> Mapping[str, str]:
        from scraper.sources.ab_aaip.parse import EOI  # the parser names the score: loaded on use

        return {EOI: "Alberta EOI score"}

    def category_name(self, slug: str | None) -> str:
        from scraper.sources.ab_aaip.streams import stream_name  # reads labels with the parser's helpers

        return (stream_name(slug) if slug else None) or super().category_name(slug)

    def check(self, checks: Checks, profile: Any, draw: Any, facts: Any) -> bool:
        sector = (draw.extra or {}).get("sector")
        if sector:
            # The stream takes only a sector's occupations, named in words: unknown, not "none of yours".
            checks.check(None, "", f"the draw took only {sector}; the page names no occupation codes, so "
                         "whether yours is among them is not known")
        return super().check(checks, profile, draw, facts)
