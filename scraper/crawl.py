"""One crawl of one source: fetch (Scrapy) -> parse (pure) -> ingest (one transaction).

Used by ``drawwatch crawl`` and by the service; both run inside one asyncio loop with
Scrapy's asyncio reactor, and share one ``AsyncCrawlerRunner`` (a reactor cannot be
restarted, so nothing here ever starts a CrawlerProcess).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Coroutine

from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import select

from configfile import Settings
from scraper.records import ParseError, ParseResult
from scraper.sources import registry
from scraper.sources.base import Page, Source
from store.db import session as open_session
from store.ingest import (MAX_ERROR, IngestReport, Matcher, PageFetch, accept_held, ingest, record_failure,
                          record_not_modified)
from store.leases import crawl_lease, lock
from store.models import CrawlRun, PageState, utcnow
from store.plan import first_year

log = logging.getLogger(__name__)

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Exit statuses of ``crawl`` and ``serve --once`` (and ``status``): a failure outranks a
# hold; a held crawl waits for a person, so a cron job must not exit 0 on it either.
EXIT_FAILED = 1
EXIT_HELD = 3


@dataclass
class CrawlOutcome:
    source: str
    run: CrawlRun
    report: IngestReport | None = None  # None when nothing was ingested (304, failure)
    # Pages of a backfill that could not be read (URL -> why): the pages read were stored
    # without them, and the next backfill fetches them again. A crawl with any is not a success.
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.run.outcome in ("ok", "not_modified")

    @property
    def held(self) -> bool:
        return self.run.outcome == "held"


def exit_status(outcomes: list[CrawlOutcome | None]) -> int:
    """0, EXIT_FAILED or EXIT_HELD for a set of crawls (None: a crawl that could not be recorded)."""
    if any(o is None or o.run.outcome == "failed" or o.missing for o in outcomes):
        return EXIT_FAILED
    return EXIT_HELD if any(o.held for o in outcomes) else 0


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
        # Every request (robots.txt and retries too) fits inside the crawl's deadline.
        "DOWNLOADER_MIDDLEWARES": {"scraper.spiders.base.DeadlineMiddleware": 360},
    }


def make_runner(settings: Settings):
    from scrapy.crawler import AsyncCrawlerRunner  # deferred: Scrapy only for a crawl

    return AsyncCrawlerRunner(scrapy_settings(settings))


def source_pages(source: Source, settings: Settings, *, backfill: bool = False,
                 today: date | None = None) -> list[Page]:
    """The pages of one crawl of ``source`` (each with its kind, and whether it may be absent)."""
    return source.plan(settings.source(source.name), backfill=backfill, today=today or date.today())


async def fetch(runner, spec: Source, urls: list[str], optional: set[str],
                validators: dict[str, tuple[str | None, str | None]],
                deadline: float) -> tuple[list, dict[str, str], bool]:
    """The pages fetched, the pages not read (URL -> why), and whether the crawl was cut
    by its deadline (``deadline`` seconds from the first request)."""
    from scrapy import signals  # deferred: Scrapy only for a crawl

    pages: list = []
    crawler = runner.create_crawler(spec.load_spider())
    timer: list[asyncio.TimerHandle] = []

    def collect(item, **_):
        pages.append(item)

    def stop():
        # Requests already waiting in Scrapy's queues are dropped; DeadlineMiddleware has
        # cut those in flight to end by now.
        engine = crawler.engine
        if crawler.crawling and engine is not None and engine.spider is not None:
            if hasattr(engine, "close_spider_async"):  # Scrapy 2.14 and later
                asyncio.ensure_future(engine.close_spider_async(reason="deadline"))
            else:
                engine.close_spider(engine.spider, "deadline")

    def opened(spider, **_):
        timer.append(asyncio.get_running_loop().call_later(deadline, stop))

    # Scrapy holds signal receivers weakly: these live in this frame until the crawl ends.
    crawler.signals.connect(collect, signal=signals.item_scraped)
    crawler.signals.connect(opened, signal=signals.spider_opened)
    try:
        await runner.crawl(crawler, name=spec.name, urls=urls, validators=validators, optional=optional,
                           deadline=deadline)
    finally:
        for handle in timer:
            handle.cancel()
    spider = crawler.spider
    failed = dict(spider.failures)
    fetched = {p.url for p in pages}
    failed.update((u, "no response") for u in urls if u not in fetched and u not in failed)
    ends_at = getattr(spider, "ends_at", None)
    cut = bool(failed) and (getattr(spider, "deadline_reached", False)
                            or (ends_at is not None and time.monotonic() >= ends_at))
    return pages, failed, cut


def _parse_pages(spec: Source, pages: list, kinds: dict[str, str] | None = None,
                 may_fail: set[str] = frozenset(), missing: dict[str, str] | None = None,
                 ) -> tuple[ParseResult, list[PageFetch]]:
    """Every fetched page read by the parser of the kind its plan declared (``kinds``:
    url -> kind; a page not in it is of the source's first kind). A page of ``may_fail``
    that cannot be read (a captcha instead of a past year) is left out and noted in
    ``missing``; any other page's ParseError fails the crawl."""
    kinds = kinds or {}
    combined = ParseResult()
    fetches = []
    for page in pages:
        if page.status != 200:
            continue
        kind = kinds.get(page.url, spec.default_kind)
        try:
            result = spec.parser(kind)(page.body, page.url)
        except ParseError as exc:
            if page.url not in may_fail or missing is None:
                raise
            missing[page.url] = describe(exc)
            continue
        combined.draws.extend(result.draws)
        combined.notices.extend(result.notices)
        combined.problems.extend(result.problems)
        # A yearly page's keys are kept even where not compared: its turnover is judged on them.
        yearly, windowed = kind in spec.yearly, kind in spec.windowed
        fetches.append(PageFetch(page.url, page.etag, page.last_modified,
                                 n_records=len(result.draws) + len(result.notices),
                                 keys=tuple(d.key for d in result.draws) if yearly or not windowed else None,
                                 windowed=windowed, began=first_year(d.date for d in result.draws) if yearly else None))
    if spec.combine:
        combined.draws = spec.load_combine()(combined.draws)
    return combined, fetches


def _store(engine: Engine, spec: Source, pages: list, kinds: dict[str, str], started, matcher, notify_history,
           hold_threshold: int, may_fail: set[str], missing: dict[str, str],
           holder: str | None = None) -> CrawlOutcome | None:
    with open_session(engine) as session:
        result, fetches = _parse_pages(spec, pages, kinds, may_fail, missing)
        # Every ingest of a source takes its turn at the lease row: a person's `drawwatch
        # crawl` (no holder) too, whose ingest then waits for a running service's ingest of
        # the source to commit, and sees its draws, rather than storing and announcing the
        # same draw beside it. The lease may have run out while the pages were fetched (the
        # process was held up) and another process may be crawling the source now: only
        # its holder may store.
        current = lock(session, crawl_lease(spec.name))
        if holder is not None and current != holder:
            session.rollback()
            log.warning("%s: crawl not stored: another process holds the source", spec.name)
            return None
        if not fetches:  # every page read was a past year's that could not be read
            return CrawlOutcome(spec.name, record_not_modified(session, spec.name, started), missing=missing)
        # Problems are kept on the draws as flags; repeating them at WARNING on every
        # poll of an unchanged feed would bury the warnings that matter.
        for problem in result.problems:
            log.debug("%s: %s", spec.name, problem)
        if result.problems:
            log.info("%s: %d values kept verbatim or inconsistent (see the draws' flags)",
                     spec.name, len(result.problems))
        report = ingest(session, spec.name, result, pages=fetches, combine=spec.load_combine(),
                        matcher=matcher, notify_history=notify_history, started_at=started,
                        hold_threshold=hold_threshold)
        return CrawlOutcome(spec.name, report.run, report, missing=missing)


def accept_source(name: str, engine: Engine, *, matcher: Matcher | None = None) -> CrawlOutcome:
    """Apply ``name``'s held crawl as it was parsed (alerts as usual); raises ``NothingHeld``.

    Takes its turn at the source's lease row as every ingest does (``_store``): beside a
    running service it waits for the service's ingest of the source, and then reads the
    draws and the held crawl that ingest left."""
    with open_session(engine) as session:
        lock(session, crawl_lease(name))
        report = accept_held(session, name, combine=registry.get(name).load_combine(), matcher=matcher,
                             started_at=utcnow())
        return CrawlOutcome(name, report.run, report)


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line; a database error without its SQL and bound parameters."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        # The wrapper's text quotes the statement's parameters (a subscriber's Apprise URL,
        # a draw's text): only the underlying error is fit to record and show.
        exc = exc.orig
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:MAX_ERROR]


def _record_crash(engine: Engine, name: str, exc: Exception, started) -> CrawlOutcome:
    if not isinstance(exc, ParseError):
        # A bug (ours or a library's), not a page we cannot read: the traceback is for
        # whoever fixes it, at DEBUG; the operator sees the one-line error in the run.
        log.debug("%s: crawl raised", name, exc_info=exc)
    with open_session(engine) as session:
        return CrawlOutcome(name, record_failure(session, name, describe(exc), started))


async def crawl_source(
    name: str,
    settings: Settings,
    engine: Engine,
    runner,
    *,
    matcher: Matcher | None = None,
    notify_history: bool = False,
    backfill: bool = False,
    holder: str | None = None,
) -> CrawlOutcome | None:
    """Crawl ``name`` once; returns the recorded ``CrawlRun`` (ok, not_modified, held, failed).

    ``holder``: the lease holder this process crawls as (the service); the pages are
    stored only if it still holds the source's lease, else nothing is and None is returned.

    Whatever goes wrong inside the crawl (the site, the spider, a parser, the ingest) is
    recorded as a failed crawl, so health and the operator hear of it; only an error
    while recording that failure (the database itself) propagates.
    """
    started = utcnow()
    try:
        return await _crawl(registry.get(name), settings, engine, runner, started, matcher=matcher,
                            notify_history=notify_history, backfill=backfill, holder=holder)
    except Exception as exc:
        return await asyncio.to_thread(_record_crash, engine, name, exc, started)


async def _crawl(spec: Source, settings: Settings, engine: Engine, runner, started, *,
                 matcher: Matcher | None, notify_history: bool, backfill: bool,
                 holder: str | None) -> CrawlOutcome | None:
    name = spec.name
    plan = source_pages(spec, settings, backfill=backfill)
    urls, optional = [p.url for p in plan], {p.url for p in plan if p.optional}
    kinds = {p.url: p.kind for p in plan}
    with open_session(engine) as session:
        states = session.exec(select(PageState).where(PageState.url.in_(urls))).all()
        validators = {s.url: (s.etag, s.last_modified) for s in states}
    # A page that may not exist yet (next year's) stops being optional once we have read it.
    optional -= validators.keys()
    # The pages only a backfill reads are the source's past: one that cannot be read (a
    # 404, a captcha) is listed and left for the next backfill instead of costing the
    # others. Every page of a regular crawl must still be read, or nothing is stored. A
    # page not read yields no keys, so store.plan counts none of its draws as lost.
    may_fail = set(urls) - {p.url for p in source_pages(spec, settings)} if backfill else set()
    pages, failed, cut = await fetch(runner, spec, urls, optional, validators, settings.source(name).deadline)
    if set(failed) - may_fail:
        error = "; ".join(f"{url}: {why}" for url, why in failed.items())
        if cut:
            error = f"stopped at the crawl's deadline of {settings.source(name).deadline:g} s; {error}"
        with open_session(engine) as session:
            run = record_failure(session, name, error, started)
        return CrawlOutcome(name, run)
    if all(p.status in (304, 404) for p in pages):
        with open_session(engine) as session:
            run = record_not_modified(session, name, started)
        log.info("%s: not modified", name)
        return CrawlOutcome(name, run, missing=failed)
    # Parsing and the database are synchronous: keep them off the event loop so a
    # large page never stalls another source's crawl or a delivery.
    # (The pages left out are the outcome's ``missing``: the command lists them.)
    return await asyncio.to_thread(_store, engine, spec, pages, kinds, started, matcher, notify_history,
                                   settings.source(name).hold_threshold, may_fail, failed, holder)


def run_in_reactor(main: Callable[[], Coroutine]) -> Any:
    """Run ``main()`` to completion on Scrapy's asyncio reactor and return its result."""
    from scrapy.utils.reactor import install_reactor  # deferred: Scrapy and Twisted only to run a crawl

    install_reactor(ASYNCIO_REACTOR)
    # After install_reactor: importing twisted.internet.reactor installs the default one.
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
