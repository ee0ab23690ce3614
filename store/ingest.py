"""Turn one crawl's parse results into rows: upsert, classify, revise, in one transaction."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Callable, Iterable

from sqlalchemy import update
from sqlmodel import Session, delete, select

from scraper.records import DrawRecord, ParseError, ParseResult
from store.models import CrawlRun, Draw, DrawNoc, DrawRevision, Notice, PageState, as_utc, utcnow
from store.reference.resolve import draw_nocs

log = logging.getLogger(__name__)

# The draw's facts: everything a parser sets except the natural key.
FACT_FIELDS = tuple(f.name for f in fields(DrawRecord) if f.name not in ("source", "key"))

# A page that used to yield this many records and now yields under half is not
# believed: a redesign, a partial page or a block page dressed as content.
SHRINK_MIN_PREVIOUS = 4
SHRINK_RATIO = 0.5


class SuspiciousShrink(ParseError):
    """A page parsed to far fewer records than it held last time."""


@dataclass
class PageFetch:
    """One fetched page of a crawl: its validators and how many records it yielded."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    n_records: int = 0


@dataclass
class IngestReport:
    run: CrawlRun
    new: list[Draw] = field(default_factory=list)
    changed: list[tuple[Draw, dict[str, list[Any]]]] = field(default_factory=list)
    unchanged: int = 0
    new_notices: list[Notice] = field(default_factory=list)

    @property
    def baseline(self) -> bool:
        return self.run.baseline


# Merges records of one draw read from different pages (Ontario's updates page and
# ledgers each know part of a draw): applied to the stored draw and the new record, so
# a crawl that read only some of the pages completes a draw instead of overwriting it.
Combine = Callable[[list[DrawRecord]], list[DrawRecord]]

# Called inside the ingest transaction with the new and changed draws (the
# notifier's matcher), so outbox rows commit or roll back with the draws.
Matcher = Callable[[Session, IngestReport], None]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _db_value(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _db_value(value: Any) -> Any:
    """Datetimes in UTC (see store.models); a naive one from a parser is taken as UTC."""
    return as_utc(value) if isinstance(value, datetime) else value


def content_hash(values: dict[str, Any]) -> str:
    canonical = json.dumps({k: _jsonable(values[k]) for k in FACT_FIELDS}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _facts(record: DrawRecord) -> dict[str, Any]:
    return {name: _db_value(getattr(record, name)) for name in FACT_FIELDS}


def as_record(draw: Draw) -> DrawRecord:
    """A stored draw back in the parsers' shape, for a source's ``combine``."""
    return DrawRecord(source=draw.source, key=draw.key, **{name: getattr(draw, name) for name in FACT_FIELDS})


def diff_facts(old: Draw, values: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]}; dict fields (``extra``) are compared key by key ("extra.x")."""
    changes: dict[str, list[Any]] = {}
    for name in FACT_FIELDS:
        before, after = _jsonable(getattr(old, name)), _jsonable(values[name])
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            for sub in sorted(before.keys() | after.keys()):
                if before.get(sub) != after.get(sub):
                    changes[f"{name}.{sub}"] = [before.get(sub), after.get(sub)]
        else:
            changes[name] = [before, after]
    return changes


def is_baseline(session: Session, source: str) -> bool:
    """True until the source has had one successful crawl."""
    done = session.exec(
        select(CrawlRun.id).where(CrawlRun.source == source, CrawlRun.outcome.in_(("ok", "not_modified")))
    ).first()
    return done is None


def _check_shrink(session: Session, pages: Iterable[PageFetch]) -> None:
    for page in pages:
        before = session.get(PageState, page.url)
        if before and before.n_records >= SHRINK_MIN_PREVIOUS and page.n_records < before.n_records * SHRINK_RATIO:
            raise SuspiciousShrink(
                f"page yielded {page.n_records} records where it held {before.n_records} last time; "
                "refusing to believe it", page.url)


def _save_pages(session: Session, source: str, pages: Iterable[PageFetch]) -> None:
    now = utcnow()
    for page in pages:
        state = session.get(PageState, page.url) or PageState(url=page.url, source=source)
        state.etag, state.last_modified, state.n_records, state.updated = (
            page.etag, page.last_modified, page.n_records, now)
        session.add(state)


def _upsert_notices(session: Session, source: str, result: ParseResult, report: IngestReport) -> None:
    existing = {n.key: n for n in session.exec(select(Notice).where(Notice.source == source))}
    for rec in result.notices:
        digest = hashlib.sha256(json.dumps([rec.title, rec.text, _jsonable(rec.date)]).encode()).hexdigest()
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
) -> IngestReport:
    """Store one successful crawl of ``source``, all or nothing.

    Upserts draws by (source, key), merging with the stored draw through ``combine``
    when the source has one; a draw whose facts differ gets a ``DrawRevision``
    with old and new values. Draws the crawl did not mention are left alone (a page
    dropping a draw is not a deletion). Raises (and writes nothing) on a suspicious
    shrink; the caller records the failure with ``record_failure``.
    """
    pages = list(pages)
    now = utcnow()
    keys = [r.key for r in result.draws]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise ParseError(f"{source}: several records share the keys {dupes[:5]}")
    try:
        _check_shrink(session, pages)
        run = CrawlRun(source=source, started_at=started_at or now, finished_at=now, outcome="ok",
                       baseline=is_baseline(session, source), n_parsed=len(result.draws))
        session.add(run)
        session.flush()
        report = IngestReport(run=run)

        # Only keys and hashes are read up front: a re-crawl of an unchanged source then
        # never loads a full row.
        stored = {key: (draw_id, digest) for key, draw_id, digest in session.exec(
            select(Draw.key, Draw.id, Draw.content_hash).where(Draw.source == source))}
        seen_unchanged: list[int] = []
        for record in result.draws:
            values = _facts(record)
            digest = content_hash(values)
            if record.key not in stored:
                draw = Draw(source=source, key=record.key, content_hash=digest, first_seen=now,
                            last_seen=now, updated=now, **values)
                stored[record.key] = (None, digest)
                report.new.append(draw)
                continue
            draw_id, stored_digest = stored[record.key]
            if stored_digest == digest:
                seen_unchanged.append(draw_id)
                continue
            old = session.get(Draw, draw_id)
            if combine is not None:
                values = _facts(combine([as_record(old), record])[0])
                digest = content_hash(values)
                if digest == stored_digest:
                    seen_unchanged.append(draw_id)
                    continue
            changes = diff_facts(old, values)
            for name, value in values.items():
                setattr(old, name, value)
            old.content_hash, old.last_seen, old.updated = digest, now, now
            report.changed.append((old, changes))
        # One flush for every new and changed draw (ids are needed for the rows below).
        session.add_all(report.new + [draw for draw, _ in report.changed])
        session.flush()
        for draw, changes in report.changed:
            session.add(DrawRevision(draw_id=draw.id, crawl_run_id=run.id, changed_at=now, changes=changes))
        if report.changed:
            session.exec(delete(DrawNoc).where(DrawNoc.draw_id.in_([d.id for d, _ in report.changed])))
        session.add_all([DrawNoc(draw_id=draw.id, noc2021=code, via=via)
                         for draw in report.new + [d for d, _ in report.changed]
                         for code, via in sorted(draw_nocs(draw).items())])
        if seen_unchanged:
            # One statement, not a row at a time: re-ingesting a snapshot must stay cheap.
            session.exec(update(Draw).where(Draw.id.in_(seen_unchanged)).values(last_seen=now))
        report.unchanged = len(seen_unchanged)
        _upsert_notices(session, source, result, report)
        _save_pages(session, source, pages)
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
    return report


def record_not_modified(session: Session, source: str, started_at: datetime | None = None) -> CrawlRun:
    """Every page answered 304: a successful crawl that read nothing new."""
    now = utcnow()
    run = CrawlRun(source=source, started_at=started_at or now, finished_at=now, outcome="not_modified",
                   baseline=False)
    session.add(run)
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
