"""The source registry: every source the project watches, and what each must declare.

Kept free of Scrapy imports (spiders and parsers are named by dotted path) so that
query commands and config loading start fast.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from typing import Any, Callable

from store.config import SourceSettings

EE_FEED_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
OINP_YEAR_URL = "https://www.ontario.ca/page/{year}-ontario-immigrant-nominee-program-updates"
OINP_LEDGER_URLS = [
    "https://www.ontario.ca/page/ontario-immigrant-nominee-program-oinp-invitations-apply",
    "https://www.ontario.ca/page/oinp-express-entry-notifications-interest",
]
OINP_FIRST_YEAR = 2015  # 2009-2014 share one page of news with no draws in today's sense


@dataclass(frozen=True)
class SourceSpec:
    name: str
    title: str
    spider: str            # "module:Class"
    parser: str            # "module:function", (body, url) -> ParseResult
    defaults: dict[str, Any] = field(default_factory=dict)
    # "module:function" (settings, backfill=, today=) -> (urls, optional urls); default: url + urls
    url_plan: str | None = None
    # "module:function" list[DrawRecord] -> list[DrawRecord]: merges the records of one draw
    # read from several pages, within a crawl and with the stored draw (see store.ingest)
    combine: str | None = None

    def default_settings(self) -> SourceSettings:
        return SourceSettings.model_validate(self.defaults)

    def load_spider(self) -> type:
        return load_object(self.spider)

    def load_parser(self) -> Callable:
        return load_object(self.parser)

    def load_combine(self) -> Callable | None:
        return load_object(self.combine) if self.combine else None


def load_object(path: str) -> Any:
    """``module:attr`` -> the object (imported on first use)."""
    module, _, attr = path.partition(":")
    return getattr(import_module(module), attr)


def oinp_urls(settings: SourceSettings, *, backfill: bool, today: date) -> tuple[list[str], set[str]]:
    """This year's updates page, ``past_years`` before it (all since 2015 with backfill), the ledgers.

    This year's page does not exist until Ontario's first post of the year, so its 404 is
    not an error (the crawl treats a page it has fetched before as required again).
    """
    template = settings.url or OINP_YEAR_URL
    first = OINP_FIRST_YEAR if backfill else max(OINP_FIRST_YEAR, today.year - settings.past_years)
    years = range(today.year, first - 1, -1)
    urls = [template.format(year=y) for y in years] + list(settings.urls)
    return urls, {template.format(year=today.year)}


SOURCES: dict[str, SourceSpec] = {
    "express_entry": SourceSpec(
        name="express_entry",
        title="Express Entry rounds of invitations (IRCC)",
        spider="scraper.spiders.express_entry:ExpressEntrySpider",
        parser="scraper.parse.express_entry:parse_express_entry",
        # IRCC publishes rounds on weekdays, usually early-to-mid afternoon Ottawa time:
        # poll every 5 minutes then, hourly otherwise (conditional GETs cost a 304).
        defaults={"url": EE_FEED_URL, "schedule": ["*/5 8-19 * * mon-fri", "0 * * * *"]},
    ),
    "oinp": SourceSpec(
        name="oinp",
        title="Ontario Immigrant Nominee Program updates and invitation ledgers",
        spider="scraper.spiders.oinp:OinpSpider",
        parser="scraper.parse.oinp:parse_oinp_page",
        # Ontario posts on weekdays during Toronto office hours; its pages are heavier than
        # IRCC's feed, so every 10 minutes then and every 2 hours otherwise.
        defaults={"url": OINP_YEAR_URL, "urls": OINP_LEDGER_URLS, "past_years": 1,
                  "schedule": ["*/10 8-18 * * mon-fri", "0 */2 * * *"]},
        url_plan="scraper.sources:oinp_urls",
        combine="scraper.parse.oinp_ledger:merge_oinp",
    ),
}
