"""The source registry: every source the project watches, and what each must declare.

Kept free of Scrapy imports (spiders and parsers are named by dotted path) so that
query commands and config loading start fast.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Callable

from store.config import SourceSettings

EE_FEED_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"


@dataclass(frozen=True)
class SourceSpec:
    name: str
    title: str
    spider: str            # "module:Class"
    parser: str            # "module:function", (body, url) -> ParseResult
    defaults: dict[str, Any] = field(default_factory=dict)
    # Sources whose draws are assembled from several pages keep a stored fact that a
    # page doesn't mention (see store.ingest).
    keep_known: bool = False
    # "module:function" (settings, backfill=, today=) -> (urls, optional urls); default: url + urls
    url_plan: str | None = None
    # "module:function" list[DrawRecord] -> list[DrawRecord], merging one crawl's pages
    combine: str | None = None

    def default_settings(self) -> SourceSettings:
        return SourceSettings.model_validate(self.defaults)

    def load_spider(self) -> type:
        return load_object(self.spider)

    def load_parser(self) -> Callable:
        return load_object(self.parser)


def load_object(path: str) -> Any:
    """``module:attr`` -> the object (imported on first use)."""
    module, _, attr = path.partition(":")
    return getattr(import_module(module), attr)


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
}
