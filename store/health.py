"""Source health from the crawl history, and the operator messages it calls for.

Everything is recomputed from ``CrawlRun``, ``Draw`` and ``HeldCrawl`` rows at each check;
the only state kept is what the operator has already been told (``SourceAlert``,
``HeldAlert``), written after a message was sent. So a restart neither repeats an alert
nor loses one that was due.
"""
from __future__ import annotations

import datetime as dt
import json
import statistics
import weakref
from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import func, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from notifier.secrets import mask  # a page's URL or an error may carry a token
from store.config import ServiceSettings
from store.models import CrawlRun, Draw, HeldAlert, HeldCrawl, Notification, SourceAlert, as_utc, utcnow
from store.output import ordered, render

OK_OUTCOMES = ("ok", "not_modified")
# The source answered and its pages were read: a held crawl ends a failure streak too
# (the source works; what it says waits for a person).
READ_OUTCOMES = (*OK_OUTCOMES, "held")
# Gaps between a source's recent draw dates that define its usual rhythm.
USUAL_GAP_SAMPLE = 30
USUAL_GAP_MIN_DATES = 4


def ensure_schema(engine: Engine) -> None:
    """Create ``SourceAlert`` and ``HeldAlert`` if missing (a database made before they existed)."""
    SQLModel.metadata.create_all(engine, tables=[SourceAlert.__table__, HeldAlert.__table__])


@dataclass
class SourceHealth:
    source: str
    now: dt.datetime
    last_run: Optional[dt.datetime] = None  # start of the latest crawl, whatever its outcome
    last_success: Optional[dt.datetime] = None
    last_failure: Optional[dt.datetime] = None
    last_error: Optional[str] = None
    last_read: Optional[dt.datetime] = None  # end of the latest crawl that read the source (ok or held)
    consecutive_failures: int = 0
    failing_since: Optional[dt.datetime] = None
    held: Optional[HeldCrawl] = None  # the crawl waiting for a person, if any
    held_since: Optional[dt.datetime] = None  # start of the first crawl held since the last success
    draws: int = 0
    last_change: Optional[dt.datetime] = None  # when a new or corrected draw was last stored
    usual_gap: Optional[dt.timedelta] = None
    stale_after: Optional[dt.timedelta] = None

    @property
    def stale(self) -> bool:
        """Crawls succeed but nothing has changed for far longer than usual."""
        if self.stale_after is None or self.last_change is None or self.last_success is None:
            return False
        if self.held is not None:  # the change is there, waiting for a person: not quiet
            return False
        return self.consecutive_failures == 0 and self.now - self.last_change > self.stale_after

    def failing(self, threshold: int) -> bool:
        return self.consecutive_failures >= threshold


def _usual_gap(session: Session, source: str) -> Optional[dt.timedelta]:
    """A high percentile of the recent gaps between the source's draw dates."""
    dates = list(session.exec(select(Draw.date).where(Draw.source == source, col(Draw.date).is_not(None))
                              .distinct().order_by(col(Draw.date).desc()).limit(USUAL_GAP_SAMPLE + 1)))
    if len(dates) < USUAL_GAP_MIN_DATES:
        return None
    gaps = [(a - b).days for a, b in zip(dates, dates[1:])]
    # The 90th percentile, not the mean: a source that pauses for a month now and then
    # must not be reported every time it does.
    return dt.timedelta(days=statistics.quantiles(gaps, n=10, method="inclusive")[-1])


def source_health(session: Session, source: str, service: ServiceSettings,
                  now: dt.datetime | None = None) -> SourceHealth:
    now = now or utcnow()
    health = SourceHealth(source=source, now=now)
    runs = select(CrawlRun).where(CrawlRun.source == source).order_by(col(CrawlRun.id).desc()).limit(1)
    latest = session.exec(runs).first()
    if latest is None:
        return health
    health.last_run = latest.started_at
    success = session.exec(runs.where(col(CrawlRun.outcome).in_(OK_OUTCOMES))).first()
    failure = session.exec(runs.where(CrawlRun.outcome == "failed")).first()
    read = session.exec(runs.where(col(CrawlRun.outcome).in_(READ_OUTCOMES))).first()
    if success:
        health.last_success = success.finished_at or success.started_at
    if failure:
        health.last_failure, health.last_error = failure.finished_at or failure.started_at, failure.error
    if read:
        health.last_read = read.finished_at or read.started_at
    streak = select(func.count(), func.min(CrawlRun.started_at)).where(
        CrawlRun.source == source, CrawlRun.outcome == "failed", CrawlRun.id > (read.id if read else 0))
    health.consecutive_failures, health.failing_since = session.exec(streak).one()
    health.held = _held(session, source)
    if health.held is not None:
        # The episode, not the latest hold: every poll of a feed that stays rewritten is held again.
        first = session.exec(select(func.min(CrawlRun.started_at)).where(
            CrawlRun.source == source, CrawlRun.outcome == "held", CrawlRun.id > (success.id if success else 0))).one()
        health.held_since = first or health.held.held_at
    health.draws, health.last_change = session.exec(
        select(func.count(), func.max(Draw.updated)).where(Draw.source == source)).one()
    health.usual_gap = _usual_gap(session, source)
    if health.usual_gap is not None:
        health.stale_after = max(health.usual_gap * service.stale_factor,
                                 dt.timedelta(days=service.stale_min_days))
    return health


# Engines whose database has the HeldCrawl table. A table is never dropped, so once seen
# it is not looked up again: ``status`` asks for every source on each read.
_HAS_HELD_TABLE: weakref.WeakSet[Engine] = weakref.WeakSet()


def _held(session: Session, source: str) -> HeldCrawl | None:
    # A database written by an older drawwatch, read by a read-only command before any
    # crawl created the table, holds no held crawl.
    bind = session.get_bind()
    engine = bind.engine  # a Connection's engine, or the Engine itself
    if engine not in _HAS_HELD_TABLE:
        if not inspect(bind).has_table(HeldCrawl.__tablename__):
            return None
        _HAS_HELD_TABLE.add(engine)
    return session.get(HeldCrawl, source)


@dataclass(frozen=True)
class OperatorMessage:
    source: str
    kind: str  # failing | recovered | stale | held
    title: str
    body: str
    since: Optional[dt.datetime] = None  # failing: start of the streak; held: of the episode


def _when(value: Optional[dt.datetime]) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


def messages_due(health: SourceHealth, told: SourceAlert | None, service: ServiceSettings,
                 held_told: HeldAlert | None = None) -> list[OperatorMessage]:
    """What the operator should now be told about one source, given what they were told."""
    return _health_message(health, told, service) + _held_message(health, held_told)


def _held_message(health: SourceHealth, told: HeldAlert | None) -> list[OperatorMessage]:
    """One message per held episode; nothing when it ends (accepted, or the source is back)."""
    held, since = health.held, as_utc(health.held_since)
    if held is None or (told is not None and told.told_at is not None and as_utc(told.told_at) >= since):
        return []
    name = health.source
    return [OperatorMessage(name, "held", f"drawwatch: a crawl of {name} is held", (
        f"A crawl of {name} at {_when(since)} would rewrite the stored history: {mask(held.summary)}.\n"
        f"Held: {held.n_new} new, {held.n_changed} changed, {held.n_lost} lost. Nothing was stored and no "
        f"subscriber was told; new draws from {name} wait as well while the source stays like this.\n"
        f"Check the source's page. If the change is real, apply it with "
        f"`drawwatch crawl --source {name} --accept` (subscribers are then told as usual). If the source "
        "goes back to what is stored, the hold ends by itself. You will not be told again about this hold."),
        since=since)]


def _health_message(health: SourceHealth, told: SourceAlert | None, service: ServiceSettings) -> list[OperatorMessage]:
    told = told or SourceAlert(source=health.source)
    alerted, since = as_utc(told.failing_alerted_at), as_utc(health.failing_since)
    name = health.source
    if health.failing(service.failure_threshold):
        if alerted is None or alerted < since:
            return [OperatorMessage(name, "failing", f"drawwatch: {name} is failing", (
                f"The last {health.consecutive_failures} crawls of {name} failed, the first at {_when(since)}.\n"
                f"Last error: {mask(health.last_error or '(none recorded)')}\n"
                f"Last successful crawl: {_when(health.last_success)}.\n"
                f"No new draws from {name} reach subscribers until it works again; "
                "you will get one message when it does."), since=since)]
        return []
    recovered = as_utc(told.recovered_at)
    if health.consecutive_failures == 0 and alerted is not None and (recovered is None or recovered < alerted):
        return [OperatorMessage(name, "recovered", f"drawwatch: {name} works again", (
            f"{name} was crawled without error at {_when(health.last_read)}, "
            f"after failing since {_when(told.failing_since)}."))]
    stale_told = as_utc(told.stale_alerted_at)
    if health.stale and (stale_told is None or stale_told < as_utc(health.last_change)):
        days = (health.now - as_utc(health.last_change)).days
        return [OperatorMessage(name, "stale", f"drawwatch: {name} has not changed for {days} days", (
            f"{name} has had no new or corrected draw since {_when(health.last_change)}, although its crawls "
            f"succeed (last {_when(health.last_success)}). It usually changes at least every "
            f"{health.usual_gap.days} days, so this is reported after {health.stale_after.days} days. "
            "The page may have moved or stopped being updated: check the source's URL."))]
    return []


def pending_messages(session: Session, sources: Iterable[str], service: ServiceSettings,
                     now: dt.datetime | None = None) -> list[OperatorMessage]:
    """Every message due for ``sources`` now."""
    out: list[OperatorMessage] = []
    for source in sources:
        health = source_health(session, source, service, now)
        out += messages_due(health, session.get(SourceAlert, source), service, session.get(HeldAlert, source))
    return out


def record_sent(session: Session, message: OperatorMessage, now: dt.datetime | None = None) -> None:
    """Remember that ``message`` reached the operator (call only after it did)."""
    now = now or utcnow()
    if message.kind == "held":
        held = session.get(HeldAlert, message.source) or HeldAlert(source=message.source)
        held.held_since, held.told_at = message.since, now
        session.add(held)
        session.commit()
        return
    told = session.get(SourceAlert, message.source) or SourceAlert(source=message.source)
    if message.kind == "failing":
        told.failing_since, told.failing_alerted_at = message.since, now
    elif message.kind == "recovered":
        told.recovered_at = now
    elif message.kind == "stale":
        told.stale_alerted_at = now
    session.add(told)
    session.commit()


def outbox_counts(session: Session) -> dict[str, int]:
    """{status: rows} of the notifier's outbox."""

    rows = session.exec(select(Notification.status, func.count()).group_by(Notification.status))
    return {status: n for status, n in rows}


# -- what ``drawwatch status`` prints ----------------------------------------------------

STATUS_COLUMNS = ("source", "state", "last_success", "last_failure", "failures", "next_run", "draws", "last_error")


def _utc(value):
    return as_utc(value) if isinstance(value, dt.datetime) else value


def _in_utc(row: dict) -> dict:
    return {k: ({n: _utc(v) for n, v in value.items()} if isinstance(value, dict) else _utc(value))
            for k, value in row.items()}


def _local(value, tz) -> object:
    return as_utc(value).astimezone(tz).strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else value


def _masked(row: dict) -> dict:
    """A crawl's error and a held crawl's summary may quote a URL with its credentials."""
    held = row.get("held")
    return {**row, "last_error": row.get("last_error") and mask(row["last_error"]),
            "held": held and {**held, "summary": held.get("summary") and mask(held["summary"])}}


def render_status(rows: list[dict], outbox: dict[str, int], fmt: str, timezone: str) -> str:
    """``status`` as JSON (an object: sources, outbox, failing, held) or CSV (a row per
    source), every time in UTC; or as a table with every time in ``timezone``, said once.
    Secrets masked in every format."""
    from zoneinfo import ZoneInfo

    rows = [_masked(r) for r in rows]
    failing = [r["source"] for r in rows if r["state"] == "failing"]
    held = [r["source"] for r in rows if r["held"]]
    if fmt == "json":
        return json.dumps({"sources": [ordered(_in_utc(r), STATUS_COLUMNS) for r in rows], "outbox": outbox, "failing": failing,
                           "held": held}, indent=2, default=lambda v: v.isoformat() if hasattr(v, "isoformat")
                          else str(v))
    if fmt == "csv":
        return render([_in_utc(r) for r in rows], "csv", STATUS_COLUMNS)
    tz = ZoneInfo(timezone)
    table = render([{k: _local(v, tz) for k, v in r.items()} for r in rows], "table", STATUS_COLUMNS)
    counts = ", ".join(f"{status} {n}" for status, n in sorted(outbox.items())) or "empty"
    lines = [table, f"(times in {timezone})", "", f"outbox: {counts}"]
    for row in rows:
        if row["held"]:
            name, h = row["source"], row["held"]
            lines.append(f"held: {name} since {_local(h['since'], tz)}: {h['new']} new, {h['changed']} changed, "
                         f"{h['lost']} lost ({h['summary']}); check the source's page, then run "
                         f"`drawwatch crawl --source {name} --accept` to apply it")
    return "\n".join(lines)
