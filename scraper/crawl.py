"""One crawl of one source: fetch (Scrapy) -> parse (pure) -> ingest (one transaction).

Used by ``drawwatch crawl`` and by the service; both run inside one asyncio loop with
Scrapy's asyncio reactor, and share one ``AsyncCrawlerRunner`` (a reactor cannot be
restarted, so nothing here ever starts a CrawlerProcess).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Coroutine

from sqlalchemy.engine import Engine
from sqlmodel import select

from scraper.records import ParseError, ParseResult
from scraper.sources import SOURCES, SourceSpec, load_object
from store.config import Settings
from store.db import session as open_session
from store.ingest import IngestReport, Matcher, PageFetch, ingest, record_failure, record_not_modified
from store.models import CrawlRun, PageState, utcnow

log = logging.getLogger(__name__)

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


class CrawlFailed(Exception):
    """The crawl was recorded as failed; the store is as it was."""


@dataclass
class CrawlOutcome:
    source: str
    run: CrawlRun
    report: IngestReport | None = None  # None when nothing was ingested (304, failure)

    @property
    def ok(self) -> bool:
        return self.run.outcome != "failed"


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    http = settings.http
    return {
        "USER_AGENT": http.user_agent,
        "ROBOTSTXT_OBEY": http.obey_robots,
        "DOWNLOAD_TIMEOUT": http.timeout,
        "RETRY_ENABLED": http.retries > 0,
        "RETRY_TIMES": http.retries,
        "DOWNLOAD_DELAY": http.delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_ENABLED": False,  # our own logging is configured once by the entry point
        "TWISTED_REACTOR": ASYNCIO_REACTOR,
        # Responses are small; anything huge is not a draw page.
        "DOWNLOAD_MAXSIZE": 20 * 1024 * 1024,
        "HTTPCACHE_ENABLED": False,
    }


def make_runner(settings: Settings):
    from scrapy.crawler import AsyncCrawlerRunner

    return AsyncCrawlerRunner(scrapy_settings(settings))


def source_urls(spec: SourceSpec, settings: Settings, *, backfill: bool = False,
                today: date | None = None) -> tuple[list[str], set[str]]:
    """(urls to fetch, urls that may be absent) for one crawl of ``spec``."""
    src = settings.source(spec.name)
    if spec.url_plan is not None:
        return load_object(spec.url_plan)(src, backfill=backfill, today=today or date.today())
    urls = ([src.url] if src.url else []) + list(src.urls)
    return urls, set()


async def fetch(runner, spec: SourceSpec, urls: list[str], optional: set[str],
                validators: dict[str, tuple[str | None, str | None]]) -> tuple[list, list[str]]:
    from scrapy import signals

    pages: list = []
    crawler = runner.create_crawler(spec.load_spider())

    def collect(item, **_):
        pages.append(item)

    # Scrapy holds signal receivers weakly: ``collect`` lives in this frame until the crawl ends.
    crawler.signals.connect(collect, signal=signals.item_scraped)
    await runner.crawl(crawler, urls=urls, validators=validators, optional=optional)
    failures = list(crawler.spider.failures)
    fetched = {p.url for p in pages}
    failures += [f"{u}: no response" for u in urls if u not in fetched and not any(u in f for f in failures)]
    return pages, failures


def _parse_pages(spec: SourceSpec, pages: list) -> tuple[ParseResult, list[PageFetch]]:
    parser = spec.load_parser()
    combined = ParseResult()
    fetches = []
    for page in pages:
        if page.status != 200:
            continue
        result = parser(page.body, page.url)
        combined.draws.extend(result.draws)
        combined.notices.extend(result.notices)
        combined.problems.extend(result.problems)
        fetches.append(PageFetch(page.url, page.etag, page.last_modified,
                                 n_records=len(result.draws) + len(result.notices),
                                 keys=tuple(d.key for d in result.draws)))
    if spec.combine:
        combined.draws = spec.load_combine()(combined.draws)
    return combined, fetches


def _store(engine: Engine, spec: SourceSpec, pages: list, started, matcher, notify_history) -> CrawlOutcome:
    with open_session(engine) as session:
        try:
            result, fetches = _parse_pages(spec, pages)
            # Problems are kept on the draws as flags; repeating them at WARNING on every
            # poll of an unchanged feed would bury the warnings that matter.
            for problem in result.problems:
                log.debug("%s: %s", spec.name, problem)
            if result.problems:
                log.info("%s: %d values kept verbatim or inconsistent (see the draws' flags)",
                         spec.name, len(result.problems))
            report = ingest(session, spec.name, result, pages=fetches, combine=spec.load_combine(),
                            matcher=matcher, notify_history=notify_history, started_at=started)
        except ParseError as exc:
            run = record_failure(session, spec.name, f"{type(exc).__name__}: {exc}", started)
            return CrawlOutcome(spec.name, run)
        return CrawlOutcome(spec.name, report.run, report)


async def crawl_source(
    name: str,
    settings: Settings,
    engine: Engine,
    runner,
    *,
    matcher: Matcher | None = None,
    notify_history: bool = False,
    backfill: bool = False,
) -> CrawlOutcome:
    """Crawl ``name`` once; always returns the recorded ``CrawlRun`` (ok, not_modified, failed)."""
    spec = SOURCES[name]
    started = utcnow()
    urls, optional = source_urls(spec, settings, backfill=backfill)
    with open_session(engine) as session:
        states = session.exec(select(PageState).where(PageState.url.in_(urls))).all()
        validators = {s.url: (s.etag, s.last_modified) for s in states}
    # A page that may not exist yet (next year's) stops being optional once we have read it.
    optional -= validators.keys()
    try:
        pages, failures = await fetch(runner, spec, urls, optional, validators)
    except Exception as exc:  # a spider that cannot even start is a failed crawl, not a crash
        failures, pages = [f"{type(exc).__name__}: {exc}"], []
    if failures:
        with open_session(engine) as session:
            run = record_failure(session, name, "; ".join(failures), started)
        return CrawlOutcome(name, run)
    if all(p.status in (304, 404) for p in pages):
        with open_session(engine) as session:
            run = record_not_modified(session, name, started)
        log.info("%s: not modified", name)
        return CrawlOutcome(name, run)
    # Parsing and the database are synchronous: keep them off the event loop so a
    # large page never stalls another source's crawl or a delivery.
    return await asyncio.to_thread(_store, engine, spec, pages, started, matcher, notify_history)


def run_in_reactor(main: Callable[[], Coroutine]) -> Any:
    """Run ``main()`` to completion on Scrapy's asyncio reactor and return its result."""
    from scrapy.utils.reactor import install_reactor

    install_reactor(ASYNCIO_REACTOR)
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    outcome: dict[str, Any] = {}

    def start() -> None:
        d = Deferred.fromFuture(asyncio.ensure_future(main()))
        d.addCallbacks(lambda value: outcome.__setitem__("value", value),
                       lambda failure: outcome.__setitem__("error", failure))
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if "error" in outcome:
        outcome["error"].raiseException()
    return outcome.get("value")
