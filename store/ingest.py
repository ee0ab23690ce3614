"""Turn one crawl's parse results into rows: upsert, classify, revise, in one transaction.

What counts as a change is deliberate (store.facts): facts are compared after
normalisation, and a value the source stops giving is kept, not erased. A crawl that
would rewrite or renumber more than a few stored draws, or lose one a page showed last
time, is held for a person to look at instead of being announced (``HeldCrawl``,
``accept_held``).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import func, update
from sqlmodel import Session, delete, select

from scraper.records import ParseError, ParseResult
from scraper.sources.base import DEFAULT_HOLD_THRESHOLD
from store.facts import jsonable
from store.models import CrawlRun, Draw, DrawNoc, DrawRevision, HeldCrawl, Notice, PageKeys, PageState, utcnow
from store.payload import from_payload, to_payload
from store.plan import EXAMPLES, Combine, PageFetch, Plan, plan_crawl  # noqa: F401  (PageFetch: the crawl's page, as callers import it)
from store.targets import draw_nocs

log = logging.getLogger(__name__)

# A draw first stored now but dated this long before the newest draw the source already
# had is the source's past (a backfilled year, a ledger listing old rounds): stored, never
# announced as new. The margin covers a province posting a draw a few weeks late.
HISTORY_MARGIN = timedelta(days=30)
MAX_ERROR = 2000  # characters of an error (or a held crawl's summary) kept on a run


class NothingHeld(LookupError):
    """``accept_held`` on a source with no held crawl."""


@dataclass
class IngestReport:
    run: CrawlRun
    new: list[Draw] = field(default_factory=list)
    changed: list[tuple[Draw, dict[str, list[Any]]]] = field(default_factory=list)
    unchanged: int = 0
    new_notices: list[Notice] = field(default_factory=list)
    # (draw key, field) for every value the crawl no longer gave and the store kept
    kept: list[tuple[str, str]] = field(default_factory=list)
    # keys of new draws from the source's past (see HISTORY_MARGIN): stored, not alerted
    history: set[str] = field(default_factory=set)

    @property
    def baseline(self) -> bool:
        return self.run.baseline

    @property
    def held(self) -> bool:
        return self.run.outcome == "held"


# Called inside the ingest transaction with the new and changed draws (the
# notifier's matcher), so outbox rows commit or roll back with the draws.
Matcher = Callable[[Session, IngestReport], None]


def is_baseline(session: Session, source: str) -> bool:
    """True until the source has had one successful crawl."""
    done = session.exec(
        select(CrawlRun.id).where(CrawlRun.source == source, CrawlRun.outcome.in_(("ok", "not_modified")))
    ).first()
    return done is None


def history_before(session: Session, source: str) -> date | None:
    """Draws dated before this day are the source's past (HISTORY_MARGIN before its newest)."""
    newest = session.exec(select(func.max(Draw.date)).where(Draw.source == source)).first()
    return newest - HISTORY_MARGIN if newest else None


def baseline_end(session: Session, source: str) -> datetime | None:
    """When the source's first successful crawl (its silent baseline) was stored."""
    return session.exec(select(CrawlRun.finished_at).where(
        CrawlRun.source == source, CrawlRun.outcome == "ok").order_by(CrawlRun.id)).first()


def _save_pages(session: Session, source: str, pages: Iterable[PageFetch]) -> None:
    now = utcnow()
    for page in pages:
        state = session.get(PageState, page.url) or PageState(url=page.url, source=source)
        state.etag, state.last_modified, state.n_records, state.updated = (
            page.etag, page.last_modified, page.n_records, now)
        session.add(state)
        if page.keys is None:
            continue
        keys = session.get(PageKeys, page.url)
        if keys is None:
            session.add(PageKeys(url=page.url, source=source, keys=sorted(page.keys)))
        elif sorted(keys.keys) != sorted(page.keys):  # written only when the page's keys moved
            keys.keys = sorted(page.keys)
            session.add(keys)


def _upsert_notices(session: Session, source: str, result: ParseResult, report: IngestReport) -> None:
    existing = {n.key: n for n in session.exec(select(Notice).where(Notice.source == source))}
    for rec in result.notices:
        digest = hashlib.sha256(json.dumps([rec.title, rec.text, jsonable(rec.date)]).encode()).hexdigest()
        row = existing.get(rec.key)
        if row is None:
            row = Notice(source=source, key=rec.key, date=rec.date, title=rec.title, text=rec.text,
                         url=rec.url, content_hash=digest)
            session.add(row)
            existing[rec.key] = row
            report.new_notices.append(row)
        elif row.content_hash != digest:
            row.date, row.title, row.text, row.url, row.content_hash, row.updated = (
                rec.date, rec.title, rec.text, rec.url, digest, utcnow())
            session.add(row)


def _hold(session: Session, source: str, result: ParseResult, pages: list[PageFetch], plan: Plan,
          started_at: datetime | None, now: datetime) -> IngestReport:
    summary = plan.summary()
    run = CrawlRun(source=source, started_at=started_at or now, finished_at=now, outcome="held",
                   n_parsed=len(result.draws), n_new=len(plan.new), n_changed=len(plan.changed),
                   n_unchanged=len(plan.unchanged_ids) + len(plan.quiet), error=summary[:MAX_ERROR])
    session.add(run)
    session.flush()
    held = session.get(HeldCrawl, source) or HeldCrawl(source=source, run_id=run.id)
    held.run_id, held.held_at, held.n_new, held.n_changed, held.n_lost = (
        run.id, now, run.n_new, run.n_changed, plan.n_lost)
    held.summary, held.payload = run.error, to_payload(result, pages)
    session.add(held)
    session.commit()
    log.warning("%s: crawl held, nothing stored or sent: %s", source, summary)
    return IngestReport(run=run, unchanged=run.n_unchanged, kept=plan.kept)


def held_crawl(session: Session, source: str) -> HeldCrawl | None:
    return session.get(HeldCrawl, source)


def accept_held(session: Session, source: str, *, combine: Combine | None = None, matcher: Matcher | None = None,
                started_at: datetime | None = None) -> IngestReport:
    """Apply the source's held crawl exactly as it was parsed, alerts as for any crawl."""
    held = held_crawl(session, source)
    if held is None:
        raise NothingHeld(f"{source}: no held crawl to accept")
    result, pages = from_payload(held.payload)
    log.info("%s: accepting the crawl held at %s: %s", source, held.held_at, held.summary)
    # An ingest stored as "ok" clears the source's held crawl in its own transaction.
    return ingest(session, source, result, pages=pages, combine=combine, matcher=matcher, started_at=started_at,
                  hold_threshold=None)


# -- the ingest ----------------------------------------------------------------------


def ingest(
    session: Session,
    source: str,
    result: ParseResult,
    *,
    pages: Iterable[PageFetch] = (),
    combine: Combine | None = None,
    matcher: Matcher | None = None,
    notify_history: bool = False,
    started_at: datetime | None = None,
    hold_threshold: int | None = DEFAULT_HOLD_THRESHOLD,
) -> IngestReport:
    """Store one successful crawl of ``source``, all or nothing.

    Upserts draws by (source, key), merging with the stored draw through ``combine``
    when the source has one; a draw whose facts differ after normalisation gets a
    ``DrawRevision`` with old and new values. A value the crawl no longer gives is kept.
    Draws the crawl did not mention are left alone (a page dropping a draw is not a
    deletion). A crawl that would rewrite or renumber more than ``hold_threshold``
    stored draws, or lose one, is held instead (``report.held``; None: never held).
    """
    pages = list(pages)
    now = utcnow()
    keys = [r.key for r in result.draws]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise ParseError(f"{source}: several records share the keys {dupes[:5]}")
    try:
        plan = plan_crawl(session, source, result, pages, combine)
        if hold_threshold is not None and (len(plan.rewritten_or_renumbered) > hold_threshold or plan.n_lost):
            return _hold(session, source, result, pages, plan, started_at, now)
        run = CrawlRun(source=source, started_at=started_at or now, finished_at=now, outcome="ok",
                       baseline=is_baseline(session, source), n_parsed=len(result.draws))
        session.add(run)
        session.flush()
        report = IngestReport(run=run, kept=plan.kept)
        past = None if notify_history else history_before(session, source)
        if past is not None:
            report.history = {record.key for record, values, _ in plan.new
                              if values["date"] is not None and values["date"] < past}
        for record, values, digest in plan.new:
            report.new.append(Draw(source=source, key=record.key, content_hash=digest, first_seen=now,
                                   last_seen=now, updated=now, **values))
        for old, values, digest, changes in plan.changed:
            for name, value in values.items():
                setattr(old, name, value)
            old.content_hash, old.last_seen, old.updated = digest, now, now
            report.changed.append((old, changes))
        for old, values, digest in plan.quiet:
            for name, value in values.items():
                setattr(old, name, value)
            old.content_hash, old.last_seen = digest, now
        # One flush for every new and changed draw (ids are needed for the rows below).
        session.add_all(report.new + [draw for draw, _ in report.changed] + [draw for draw, *_ in plan.quiet])
        session.flush()
        for draw, changes in report.changed:
            session.add(DrawRevision(draw_id=draw.id, crawl_run_id=run.id, changed_at=now, changes=changes))
        if report.changed:
            session.exec(delete(DrawNoc).where(DrawNoc.draw_id.in_([d.id for d, _ in report.changed])))
        session.add_all([DrawNoc(draw_id=draw.id, noc2021=code, via=via)
                         for draw in report.new + [d for d, _ in report.changed]
                         for code, via in sorted(draw_nocs(draw).items())])
        if plan.unchanged_ids:
            # One statement, not a row at a time: re-ingesting a snapshot must stay cheap.
            session.exec(update(Draw).where(Draw.id.in_(plan.unchanged_ids)).values(last_seen=now))
        report.unchanged = len(plan.unchanged_ids) + len(plan.quiet)
        _upsert_notices(session, source, result, report)
        _save_pages(session, source, pages)
        session.exec(delete(HeldCrawl).where(HeldCrawl.source == source))
        run.n_new, run.n_changed, run.n_unchanged = len(report.new), len(report.changed), report.unchanged
        session.add(run)
        if matcher is not None and (notify_history or not run.baseline):
            matcher(session, report)
        session.commit()
    except Exception:
        session.rollback()
        raise
    log.info("%s: %d new, %d changed, %d unchanged%s", source, len(report.new), len(report.changed),
             report.unchanged, " (baseline)" if run.baseline else "")
    if plan.kept:
        # WARNING only when a value went missing in this crawl: an unchanged feed that
        # still lacks it must not repeat the warning on every poll.
        log.log(logging.WARNING if plan.newly_kept else logging.INFO,
                "%s: %d values no longer given by the source were kept as stored (e.g. %s)", source,
                len(plan.kept), ", ".join(f"{k}.{f}" for k, f in plan.kept[:EXAMPLES]))
    return report


def record_not_modified(session: Session, source: str, started_at: datetime | None = None) -> CrawlRun:
    """Every page answered 304: a successful crawl that read nothing new.

    The validators are those of the last stored crawl, so a 304 also means the source is
    back to what is stored: a crawl held since is no longer what the source serves.
    """
    now = utcnow()
    run = CrawlRun(source=source, started_at=started_at or now, finished_at=now, outcome="not_modified",
                   baseline=False)
    session.add(run)
    session.exec(delete(HeldCrawl).where(HeldCrawl.source == source))
    session.commit()
    return run


def record_failure(session: Session, source: str, error: str, started_at: datetime | None = None) -> CrawlRun:
    """A failed crawl leaves every draw as it was; only the run is written."""
    session.rollback()
    now = utcnow()
    run = CrawlRun(source=source, started_at=started_at or now, finished_at=now, outcome="failed",
                   error=error[:MAX_ERROR])
    session.add(run)
    session.commit()
    log.warning("%s: crawl failed: %s", source, error)
    return run
