"""Source health from the crawl history, and what ``drawwatch status`` prints of it.

Everything is recomputed from ``CrawlRun``, ``Draw`` and ``HeldCrawl`` rows at each check,
in SQL text (``store.sql``): ``status`` reads it without importing SQLAlchemy, the service
through its session. What the operator is told of it: ``store.health_alerts``.
"""
from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass
from typing import Optional

from notifier.secrets import mask  # a page's URL or an error may carry a token
from store.config import ServiceSettings
from store.output import ordered, render
from store.sql import Reader, day, marks, reader_of, utc
from store.times import as_utc, utcnow

OK_OUTCOMES = ("ok", "not_modified")
# The source answered and its pages were read: a held crawl ends a failure streak too
# (the source works; what it says waits for a person).
READ_OUTCOMES = (*OK_OUTCOMES, "held")
# Gaps between a source's recent draw dates that define its usual rhythm.
USUAL_GAP_SAMPLE = 30
USUAL_GAP_MIN_DATES = 4


@dataclass(frozen=True)
class Held:
    """A source's crawl waiting for a person (its ``HeldCrawl`` row, without the payload)."""
    run_id: int
    held_at: dt.datetime
    n_new: int
    n_changed: int
    n_lost: int
    summary: str


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
    held: Optional[Held] = None  # the crawl waiting for a person, if any
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


def _usual_gap(db: Reader, source: str) -> Optional[dt.timedelta]:
    """A high percentile of the recent gaps between the source's draw dates."""
    dates = [day(r["date"]) for r in db.rows(
        "SELECT DISTINCT date FROM draw WHERE source = :source AND date IS NOT NULL ORDER BY date DESC LIMIT :n",
        {"source": source, "n": USUAL_GAP_SAMPLE + 1})]
    if len(dates) < USUAL_GAP_MIN_DATES:
        return None
    gaps = [(a - b).days for a, b in zip(dates, dates[1:])]
    # The 90th percentile, not the mean: a source that pauses for a month now and then
    # must not be reported every time it does.
    return dt.timedelta(days=statistics.quantiles(gaps, n=10, method="inclusive")[-1])


def _latest_run(db: Reader, source: str, outcomes: tuple[str, ...] = ()) -> dict | None:
    """The source's latest crawl (of one of ``outcomes``): id, and when it started and ended."""
    where, params = "", {}
    if outcomes:
        listed, params = marks("outcome", outcomes)
        where = f" AND outcome IN ({listed})"
    found = db.rows(f"SELECT id, started_at, finished_at, error FROM crawlrun WHERE source = :source{where} "
                    "ORDER BY id DESC LIMIT 1", {"source": source, **params})
    return found[0] if found else None


def _ended(run: dict) -> dt.datetime | None:
    return utc(run["finished_at"] or run["started_at"])


def source_health(db, source: str, service: ServiceSettings, now: dt.datetime | None = None) -> SourceHealth:
    """``db``: a ``store.sql`` Reader, or a SQLAlchemy session."""
    db = reader_of(db)
    now = now or utcnow()
    health = SourceHealth(source=source, now=now)
    latest = _latest_run(db, source)
    if latest is None:
        return health
    health.last_run = utc(latest["started_at"])
    success = _latest_run(db, source, OK_OUTCOMES)
    failure = _latest_run(db, source, ("failed",))
    read = _latest_run(db, source, READ_OUTCOMES)
    if success:
        health.last_success = _ended(success)
    if failure:
        health.last_failure, health.last_error = _ended(failure), failure["error"]
    if read:
        health.last_read = _ended(read)
    streak = db.rows("SELECT count(*) AS n, min(started_at) AS since FROM crawlrun WHERE source = :source "
                     "AND outcome = 'failed' AND id > :after", {"source": source, "after": read["id"] if read else 0})[0]
    health.consecutive_failures, health.failing_since = streak["n"], utc(streak["since"])
    health.held = held_crawl(db, source)
    if health.held is not None:
        # The episode, not the latest hold: every poll of a feed that stays rewritten is held again.
        first = db.rows("SELECT min(started_at) AS first FROM crawlrun WHERE source = :source AND outcome = 'held' "
                        "AND id > :after", {"source": source, "after": success["id"] if success else 0})[0]["first"]
        health.held_since = utc(first) or health.held.held_at
    stored = db.rows("SELECT count(*) AS n, max(updated) AS last FROM draw WHERE source = :source",
                     {"source": source})[0]
    health.draws, health.last_change = stored["n"], utc(stored["last"])
    health.usual_gap = _usual_gap(db, source)
    if health.usual_gap is not None:
        health.stale_after = max(health.usual_gap * service.stale_factor,
                                 dt.timedelta(days=service.stale_min_days))
    return health


def held_crawl(db: Reader, source: str) -> Held | None:
    # A database written by an older drawwatch, read by a read-only command before any
    # crawl created the table, holds no held crawl.
    if not db.has_table("heldcrawl"):
        return None
    found = db.rows("SELECT run_id, held_at, n_new, n_changed, n_lost, summary FROM heldcrawl WHERE source = :source",
                    {"source": source})
    if not found:
        return None
    row = found[0]
    return Held(run_id=row["run_id"], held_at=utc(row["held_at"]), n_new=row["n_new"], n_changed=row["n_changed"],
                n_lost=row["n_lost"], summary=row["summary"])


def crawl_holders(db, now: dt.datetime) -> dict[str, str]:
    """source -> the process crawling it now ("host:pid"), from the crawl leases not yet
    expired (store/leases.py): which of several ``serve`` processes has which source."""
    db = reader_of(db)
    if not db.has_table("lease"):  # a database no service of this version has run on
        return {}
    rows = db.rows("SELECT name, holder, expires_at FROM lease WHERE name LIKE 'crawl:%'")
    return {row["name"].removeprefix("crawl:"): ":".join(row["holder"].split(":")[:2])
            for row in rows if utc(row["expires_at"]) > now}


def outbox_counts(db) -> dict[str, int]:
    """{status: rows} of the notifier's outbox (``db``: a Reader or a session)."""
    rows = reader_of(db).rows("SELECT status, count(*) AS n FROM notification GROUP BY status")
    return {row["status"]: row["n"] for row in rows}


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
    by: dict[str, list[str]] = {}
    for row in rows:
        if row.get("crawled_by"):
            by.setdefault(row["crawled_by"], []).append(row["source"])
    lines += [f"crawled by {holder}: {', '.join(names)}" for holder, names in sorted(by.items())]
    for row in rows:
        if row["held"]:
            name, h = row["source"], row["held"]
            lines.append(f"held: {name} since {_local(h['since'], tz)}: {h['new']} new, {h['changed']} changed, "
                         f"{h['lost']} lost ({h['summary']}); check the source's page, then run "
                         f"`drawwatch crawl --source {name} --accept` to apply it")
    return "\n".join(lines)
