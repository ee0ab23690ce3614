"""Ontario as drawwatch sees it: yearly updates pages and two ledgers, merged into one
record per draw; streams scored in Ontario's EOI points or drawn from Express Entry."""
from __future__ import annotations

from datetime import date

from pydantic import Field

from scraper.sources.base import DrawLike, Page, SourceSettings
from scraper.sources.checks import day
from scraper.sources.provincial import ProvincialSource

YEAR_URL = "https://www.ontario.ca/page/{year}-ontario-immigrant-nominee-program-updates"
LEDGER_URLS = [
    "https://www.ontario.ca/page/ontario-immigrant-nominee-program-oinp-invitations-apply",
    "https://www.ontario.ca/page/oinp-express-entry-notifications-interest",
]
FIRST_YEAR = 2015  # 2009-2014 share one page of news with no draws in today's sense


class OinpSettings(SourceSettings):
    # ``url``: the yearly updates pages' address, ``{year}`` standing for the year;
    # ``urls``: the ledger pages.
    past_years: int = Field(1, ge=0, le=20)  # yearly pages crawled besides the current one


def oinp_urls(settings: OinpSettings, *, backfill: bool, today: date) -> tuple[list[str], set[str]]:
    """This year's updates page, ``past_years`` before it (all since 2015 with backfill), the ledgers.

    This year's page does not exist until Ontario's first post of the year, so its 404 is
    not an error (the crawl treats a page it has fetched before as required again).
    """
    pages = Oinp().plan(settings, backfill=backfill, today=today)
    return [p.url for p in pages], {p.url for p in pages if p.optional}


class Oinp(ProvincialSource):
    name = "oinp"
    title = "Ontario Immigrant Nominee Program updates and invitation ledgers"
    display_name = "Ontario"
    province = "ON"
    settings_model = OinpSettings
    # Ontario posts on weekdays during Toronto office hours: every minute then (its pages
    # answer 304 until they change: bench/service.py), every 2 hours otherwise.
    defaults = {"url": YEAR_URL, "urls": LEDGER_URLS, "past_years": 1,
                "schedule": ["* 8-18 * * mon-fri", "0 */2 * * *"]}
    parsers = {"updates": "scraper.sources.oinp.parse.updates:parse_oinp_updates",
               "ledger": "scraper.sources.oinp.parse.ledger:parse_oinp_ledger"}
    combine = "scraper.sources.oinp.parse.merge:merge_oinp"
    score_labels = {"crs": "CRS", "oinp_eoi": "Ontario EOI points"}
    points_label = "Ontario EOI score"
    # The French-Speaking Skilled Worker stream: NCLC 7 in French and CLB 6 in English.
    language_streams = {"fssw": (7, 6)}

    def plan(self, settings: OinpSettings, *, backfill: bool, today: date) -> list[Page]:
        template = settings.url or YEAR_URL
        first = FIRST_YEAR if backfill else max(FIRST_YEAR, today.year - settings.past_years)
        years = [Page(template.format(year=y), "updates", optional=y == today.year)
                 for y in range(today.year, first - 1, -1)]
        return years + [Page(u, "ledger") for u in settings.urls]

    def headline(self, draw: DrawLike) -> str:
        """"Ontario Human Capital Priorities tech draw, 1 Aug 2019"."""
        from scraper.sources.oinp.streams import RegistryError, get_stream  # the registry: on use

        try:
            stream = get_stream(draw.program).name.removesuffix(" stream") if draw.program else draw.title
        except (RegistryError, KeyError):
            stream = draw.title
        target = (draw.extra or {}).get("target")
        # A regional selection names its region below: not "gta draw (GTA)".
        regional = bool(target and draw.region and target in draw.region.casefold())
        what = f"{target} draw" if target and target != "general" and not regional else "draw"
        region = f" ({draw.region})" if draw.region else ""
        return f"Ontario {stream.removeprefix('Express Entry ')} {what}{region}, {day(draw.date)}"

    def category_name(self, slug: str | None) -> str:
        from scraper.sources.oinp.streams import RegistryError, get_stream

        try:
            return get_stream(slug).name if slug else super().category_name(slug)
        except (RegistryError, KeyError):  # a stream the registry doesn't know: as stored
            return super().category_name(slug)

    def stream_nocs(self, draw: DrawLike) -> frozenset[str] | None:
        from scraper.sources.oinp.streams import stream_nocs

        try:
            return stream_nocs(draw.program) if draw.program else None
        except KeyError:  # a stream name the registry doesn't know: stored verbatim, flagged
            return None
