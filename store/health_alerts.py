"""What the operator is told about each source's health (``store.health``), and when.

The only state kept is what the operator has already been told (``SourceAlert``,
``HeldAlert``), written after a message was sent. So a restart neither repeats an alert
nor loses one that was due.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from notifier.secrets import mask  # a page's URL or an error may carry a token
from store.config import ServiceSettings
from store.health import SourceHealth, source_health
from store.models import HeldAlert, SourceAlert, as_utc, utcnow


def ensure_schema(engine: Engine) -> None:
    """Create ``SourceAlert`` and ``HeldAlert`` if missing (a database made before they existed)."""
    SQLModel.metadata.create_all(engine, tables=[SourceAlert.__table__, HeldAlert.__table__])


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
