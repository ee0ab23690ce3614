"""N pending alerts in a drawwatch database for the delivery benchmarks: the real Express
Entry snapshots stored (2 April baseline, then 21 April's three new draws), N subscribers
each with its own webhook path on the sink, and one alert each for round #411 as the
matcher wrote it for the first (its reasons included), copied for the others so that loading 100,000
alerts takes seconds and measures nothing but delivery."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from sqlalchemy import delete, insert, update
from sqlmodel import func, select

from notifier.match import enqueue_matches
from notifier.subscribers import add
from scraper.sources.express_entry.parse import parse_express_entry
from store.db import session as open_session
from store.ingest import ingest
from store.models import Draw, Notification, Subscriber, utcnow

DATA = ROOT / "tests" / "data"
FEED_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
SNAPSHOTS = ("ee_rounds_123_en.2026-04-02.raw.json", "ee_rounds_123_en.2026-04-21.raw.json")


def alert_path(i: int) -> str:
    return f"/s{i}"


def load(engine, url_of, n: int, held: bool = False) -> int:
    """``n`` pending alerts, subscriber ``i`` reached at ``url_of(alert_path(i))``; returns
    how many. ``held``: not due before ``release`` (deliverers may already be running)."""
    with open_session(engine) as s:
        # One subscriber through the real path: the matcher writes its alerts for the new draws.
        add(s, {"name": "s0", "urls": [url_of(alert_path(0))], "notify": ["all"]})
        for name in SNAPSHOTS:
            ingest(s, "express_entry", parse_express_entry((DATA / name).read_bytes(), FEED_URL),
                   matcher=enqueue_matches)
        draw = s.exec(select(Draw).where(Draw.key == "411")).one()
        first = s.exec(select(Notification).where(Notification.draw_id == draw.id)).one()
        s.execute(delete(Notification).where(Notification.id != first.id))  # one alert per subscriber
        template = s.exec(select(Subscriber)).one().profile
        now = utcnow()
        if n > 1:
            s.execute(insert(Subscriber), [dict(name=f"s{i}", origin="cli", active=True, created=now, updated=now,
                                                profile=dict(template, name=f"s{i}", urls=[url_of(alert_path(i))]))
                                           for i in range(1, n)])
            ids = dict(s.exec(select(Subscriber.name, Subscriber.id)).all())
            row = {k: getattr(first, k) for k in ("draw_id", "kind", "ref", "status", "interests", "reasons", "unmet",
                                                  "facts", "changes", "delivered", "next_attempt_at", "created_at")}
            s.execute(insert(Notification), [dict(row, subscriber_id=ids[f"s{i}"]) for i in range(1, n)])
        if held:
            s.execute(update(Notification).values(next_attempt_at=now + dt.timedelta(days=365)))
        s.commit()
        return s.exec(select(func.count()).select_from(Notification).where(Notification.status == "pending")).one()


def release(engine, before_commit=None) -> None:
    """Make every held alert due now, in one transaction (``before_commit(session)`` runs in it)."""
    with open_session(engine) as s:
        s.execute(update(Notification).where(Notification.status == "pending").values(next_attempt_at=utcnow()))
        if before_commit is not None:
            before_commit(s)
        s.commit()
