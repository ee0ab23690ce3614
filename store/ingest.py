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
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import Date, DateTime, func, update
from sqlmodel import Session, delete, select

from scraper.records import DrawRecord, NoticeRecord, ParseError, ParseResult
from scraper.sources.base import DEFAULT_HOLD_THRESHOLD
from store.facts import (FACT_FIELDS, content_hash, fact_changes, jsonable, keep_vanished, record_facts, rewrites,
                         signature, stored_facts)
from store.models import CrawlRun, Draw, DrawNoc, DrawRevision, HeldCrawl, Notice, PageKeys, PageState, utcnow
from store.targets import draw_nocs

log = logging.getLogger(__name__)

# Where a page's draw keys were not recorded yet (a database from before PageKeys), a page
# that used to yield this many records and now yields under half stands for lost draws.
SHRINK_MIN_PREVIOUS = 4
SHRINK_RATIO = 0.5
EXAMPLES = 5  # draw keys named in a held crawl's summary
# A draw first stored now but dated this long before the newest draw the source already
# had is the source's past (a backfilled year, a ledger listing old rounds): stored, never
# announced as new. The margin covers a province posting a draw a few weeks late.
HISTORY_MARGIN = timedelta(days=30)

# How a held crawl's records come back from JSON.
_DATE_FIELDS = frozenset(c.name for c in Draw.__table__.columns if isinstance(c.type, Date)) & set(FACT_FIELDS)
_DATETIME_FIELDS = frozenset(c.name for c in Draw.__table__.columns if isinstance(c.type, DateTime)
                             or isinstance(getattr(c.type, "impl", None), DateTime)) & set(FACT_FIELDS)


class NothingHeld(LookupError):
    """``accept_held`` on a source with no held crawl."""


@dataclass
class PageFetch:
    """One fetched page of a crawl: its validators, how many records it yielded, and
    which draw keys (None where the caller does not say: only the count is checked)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    n_records: int = 0
    keys: tuple[str, ...] | None = None


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


# Merges records of one draw read from different pages (Ontario's updates page and
# ledgers each know part of a draw): applied to the stored draw and the new record, so
# a crawl that read only some of the pages completes a draw instead of overwriting it.
Combine = Callable[[list[DrawRecord]], list[DrawRecord]]

# Called inside the ingest transaction with the new and changed draws (the
# notifier's matcher), so outbox rows commit or roll back with the draws.
Matcher = Callable[[Session, IngestReport], None]


def as_record(draw: Draw) -> DrawRecord:
    """A stored draw back in the parsers' shape, for a source's ``combine``."""
    return DrawRecord(source=draw.source, key=draw.key, **stored_facts(draw))


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


@dataclass
class _Plan:
    """What one crawl would do, worked out before anything is written."""

    new: list[tuple[DrawRecord, dict[str, Any], str]] = field(default_factory=list)
    changed: list[tuple[Draw, dict[str, Any], str, dict[str, list[Any]]]] = field(default_factory=list)
    quiet: list[tuple[Draw, dict[str, Any], str]] = field(default_factory=list)  # verbatim parts only
    unchanged_ids: list[int] = field(default_factory=list)
    # the crawl's values for the stored keys it gives with another digest, nothing filled in
    offered: dict[str, dict[str, Any]] = field(default_factory=dict)
    kept: list[tuple[str, str]] = field(default_factory=list)
    newly_kept: int = 0
    rewritten: set[str] = field(default_factory=set)  # stored keys whose stated facts would change
    renumbered: set[str] = field(default_factory=set)  # stored keys whose facts would move to another key
    lost: dict[str, list[str]] = field(default_factory=dict)  # page URL -> keys it no longer yields
    shrunk: dict[str, tuple[int, int]] = field(default_factory=dict)  # page URL -> (before, now), keys unknown

    @property
    def lost_keys(self) -> set[str]:
        return {k for keys in self.lost.values() for k in keys}

    @property
    def rewritten_or_renumbered(self) -> set[str]:
        """Stored draws the crawl would rewrite (the lost ones are counted as lost)."""
        return (self.rewritten | self.renumbered) - self.lost_keys

    @property
    def n_lost(self) -> int:
        return len(self.lost_keys) + sum(before - now for before, now in self.shrunk.values())

    def summary(self) -> str:
        lost = sorted(self.lost_keys, key=_natural)
        parts = []
        changed = self.rewritten_or_renumbered
        if changed:
            parts.append(f"{len(changed)} stored draws would change (e.g. {', '.join(_examples(changed))})")
        if lost:
            parts.append(f"{len(lost)} would be lost (e.g. {', '.join(lost[:EXAMPLES])})")
        for url, (before, now) in self.shrunk.items():
            parts.append(f"{url} yielded {now} records where it held {before} last time")
        if self.renumbered:
            parts.append(f"{len(self.renumbered)} look renumbered (their facts now under another key)")
        if self.new:
            parts.append(f"{len(self.new)} new")
        return ", ".join(parts)


def _natural(key: str) -> tuple:
    """Round 92 before 411, "91a" beside 91; Ontario's date keys by date."""
    lead = re.match(r"\d+", key)
    return (int(lead.group()) if lead else -1, key)


def _examples(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=_natural)[:EXAMPLES]


def _plan(session: Session, source: str, result: ParseResult, pages: list[PageFetch],
          combine: Combine | None) -> _Plan:
    plan = _Plan()
    # Only keys and hashes are read up front: a re-crawl of an unchanged source then
    # never loads a full row.
    stored = {key: (draw_id, digest) for key, draw_id, digest in session.exec(
        select(Draw.key, Draw.id, Draw.content_hash).where(Draw.source == source))}
    differing: list[tuple[DrawRecord, int, str]] = []
    for record in result.draws:
        values = record_facts(record)
        digest = content_hash(values)
        if record.key not in stored:
            plan.new.append((record, values, digest))
            continue
        draw_id, stored_digest = stored[record.key]
        if stored_digest == digest:
            plan.unchanged_ids.append(draw_id)
        else:
            differing.append((record, draw_id, stored_digest))
    rows = {d.id: d for d in session.exec(select(Draw).where(Draw.id.in_([i for _, i, _ in differing])))} \
        if differing else {}
    for record, draw_id, _ in differing:
        old = rows[draw_id]
        plan.offered[record.key] = record_facts(combine([as_record(old), record])[0] if combine else record)
    _find_lost(session, pages, plan)
    _find_renumbered(session, source, plan, [rows[i] for _, i, _ in differing])
    for record, draw_id, stored_digest in differing:
        _classify(plan, rows[draw_id], plan.offered[record.key], stored_digest)
    return plan


def _classify(plan: _Plan, old: Draw, values: dict[str, Any], stored_digest: str) -> None:
    """A stored draw the crawl gives with another digest: unchanged, quiet, or changed."""
    before = stored_facts(old)
    # Where the key now holds another draw (renumbered), what that draw lacks is not the
    # stored draw's to fill in.
    if old.key not in plan.renumbered:
        values, kept = keep_vanished(before, values)
        plan.kept += [(old.key, path) for path in kept]
        plan.newly_kept += sum(f"vanished_{path}" not in (old.flags or []) for path in kept)
    digest = content_hash(values)
    if digest == stored_digest:
        plan.unchanged_ids.append(old.id)
        return
    changes = fact_changes(before, values)
    if not changes:
        # Only the wording moved (or the digest was computed the old way): stored
        # quietly, no revision, no alert.
        plan.quiet.append((old, values, digest))
        return
    plan.changed.append((old, values, digest, changes))
    if rewrites(before, values, changes):
        plan.rewritten.add(old.key)


def _find_lost(session: Session, pages: list[PageFetch], plan: _Plan) -> None:
    for page in pages:
        before = session.get(PageKeys, page.url)
        if before is not None and page.keys is not None:
            lost = sorted(set(before.keys) - set(page.keys), key=_natural)
            if lost:
                plan.lost[page.url] = lost
            continue
        state = session.get(PageState, page.url)
        if state and state.n_records >= SHRINK_MIN_PREVIOUS and page.n_records < state.n_records * SHRINK_RATIO:
            plan.shrunk[page.url] = (state.n_records, page.n_records)


def _find_renumbered(session: Session, source: str, plan: _Plan, differing: list[Draw]) -> None:
    """Stored draws (ones the crawl gives differently, and lost ones: a renumbered draw's
    key now holds other facts or nothing) whose facts the crawl gives under another key."""
    lost = plan.lost_keys
    if not (plan.new or differing) or not (differing or lost):
        return
    arriving: dict[str, set[str]] = {}
    for record, values, _ in plan.new:
        arriving.setdefault(signature(values), set()).add(record.key)
    for key, values in plan.offered.items():
        arriving.setdefault(signature(values), set()).add(key)
    leaving = list(differing)
    if lost:
        leaving += session.exec(select(Draw).where(Draw.source == source, Draw.key.in_(sorted(lost)))).all()
    for old in leaving:
        if arriving.get(signature(stored_facts(old)), set()) - {old.key}:
            plan.renumbered.add(old.key)


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


# -- held crawls: the payload is the crawl as parsed, in JSON ---------------------------


def _record_json(record: DrawRecord | NoticeRecord) -> dict[str, Any]:
    # Lists and dicts in records are JSON already: no deep copy (asdict) needed.
    return {f.name: jsonable(getattr(record, f.name)) for f in fields(record)}


def _draw_record(data: dict[str, Any]) -> DrawRecord:
    values = dict(data)
    for name in _DATE_FIELDS & values.keys():
        values[name] = date.fromisoformat(values[name]) if values[name] else None
    for name in _DATETIME_FIELDS & values.keys():
        values[name] = datetime.fromisoformat(values[name]) if values[name] else None
    return DrawRecord(**values)


def _notice_record(data: dict[str, Any]) -> NoticeRecord:
    return NoticeRecord(**{**data, "date": date.fromisoformat(data["date"]) if data.get("date") else None})


def _payload(result: ParseResult, pages: list[PageFetch]) -> dict[str, Any]:
    return {"draws": [_record_json(r) for r in result.draws], "notices": [_record_json(n) for n in result.notices],
            "problems": list(result.problems),
            "pages": [{**asdict(p), "keys": list(p.keys) if p.keys is not None else None} for p in pages]}


def _from_payload(payload: dict[str, Any]) -> tuple[ParseResult, list[PageFetch]]:
    result = ParseResult([_draw_record(d) for d in payload["draws"]],
                         [_notice_record(n) for n in payload["notices"]], list(payload["problems"]))
    pages = [PageFetch(**{**p, "keys": tuple(p["keys"]) if p["keys"] is not None else None})
             for p in payload["pages"]]
    return result, pages


def _hold(session: Session, source: str, result: ParseResult, pages: list[PageFetch], plan: _Plan,
          started_at: datetime | None, now: datetime) -> IngestReport:
    summary = plan.summary()
    run = CrawlRun(source=source, started_at=started_at or now, finished_at=now, outcome="held",
                   n_parsed=len(result.draws), n_new=len(plan.new), n_changed=len(plan.changed),
                   n_unchanged=len(plan.unchanged_ids) + len(plan.quiet), error=summary[:2000])
    session.add(run)
    session.flush()
    held = session.get(HeldCrawl, source) or HeldCrawl(source=source, run_id=run.id)
    held.run_id, held.held_at, held.n_new, held.n_changed, held.n_lost = (
        run.id, now, run.n_new, run.n_changed, plan.n_lost)
    held.summary, held.payload = run.error, _payload(result, pages)
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
    result, pages = _from_payload(held.payload)
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
        plan = _plan(session, source, result, pages, combine)
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
                   error=error[:2000])
    session.add(run)
    session.commit()
    log.warning("%s: crawl failed: %s", source, error)
    return run
