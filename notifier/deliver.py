"""Draining the outbox: every owed message sent once, retried when a channel fails.

A round claims the due rows (``pending`` -> ``sending``, with a claim token, so two
deliverers never send the same row), sends them through Apprise's async API with
bounded concurrency, and settles each message as soon as its channels answered:
``sent``, or back to ``pending`` with exponential backoff, or ``failed`` after
``max_attempts``. A subscriber with several URLs is retried only on the URLs that failed.

Crash safety: a row is marked sent only after every channel accepted it. A deliverer
killed between a channel's acceptance and that write leaves the row ``sending``; it is
sent again once its claim is older than ``lease`` -- the one window where a duplicate is
possible, and it is as short as one database write.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from notifier.render import change_list, draw_context, render
from notifier.secrets import mask, mask_url
from store.config import Settings
from store.db import session as open_session
from store.models import Draw, Notification, Subscriber, as_utc, utcnow

log = logging.getLogger(__name__)

CLAIM_BATCH = 5000  # rows claimed per query; a round loops until nothing is due


@dataclass
class Message:
    """One message to one subscriber: one outbox row, or a digest of several."""

    subscriber: str
    urls: list[str]
    kind: str  # alert | correction | digest
    context: dict
    ids: list[int]
    delivered: set[int] = field(default_factory=set)  # URL indexes already reached
    attempts: int = 0
    claim: str = ""


@dataclass
class UrlOutcome:
    url: str  # as configured: show ``masked``, never this
    ok: bool
    error: str = ""  # already masked

    @property
    def masked(self) -> str:
        # Computed only when shown: masking parses the URL again, which costs as much
        # as sending on a fast channel.
        return mask_url(self.url)


@dataclass
class DeliveryReport:
    sent: int = 0  # outbox rows
    retrying: int = 0
    failed: int = 0
    messages: int = 0

    def __str__(self) -> str:
        return f"{self.messages} messages: {self.sent} rows sent, {self.retrying} to retry, {self.failed} failed"


# -- sending --------------------------------------------------------------------------


_idle_senders: list = []  # apprise.Apprise objects between two sends


def _sender():
    """An empty ``apprise.Apprise``: reused, because building one reads the locale
    catalogues from disk, which cost more than a send to a fast channel."""
    import apprise

    sender = _idle_senders.pop() if _idle_senders else apprise.Apprise()
    sender.clear()
    return sender


async def send_to_url(url: str, kind: str, context: dict, settings: Settings) -> UrlOutcome:
    """Render ``kind`` in the format the channel takes and send it; never raises."""
    import apprise

    shown = url
    sender = None
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
        if plugin is None:
            return UrlOutcome(shown, False, "not a notification URL Apprise can send to")
        # notify_format may be a tuple (email: html or text; json: any): resolve_format
        # names the one this channel sends, honouring a ?format= in the URL.
        fmt = plugin.resolve_format().value
        title, body = render(kind, fmt if fmt in ("text", "markdown", "html") else "text", context,
                             settings.templates.directory)
        sender = _sender()
        sender.add(plugin)
        timeout = settings.delivery.timeout
        result = await asyncio.wait_for(
            sender.async_notify(body=body, title=title, body_format=fmt, timeout=timeout,
                                log_level=logging.WARNING),
            timeout=timeout + 5)
    except TimeoutError:
        # Apprise may still be using the sender in a worker thread: not reused.
        sender = None
        return UrlOutcome(shown, False, f"no answer within {settings.delivery.timeout:g}s")
    except Exception as exc:  # a template or plugin bug must cost one message, not the round
        return UrlOutcome(shown, False, mask(f"{type(exc).__name__}: {exc}"))
    finally:
        if sender is not None:
            sender.clear()
            _idle_senders.append(sender)
    if result:
        return UrlOutcome(shown, True)
    errors = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
    return UrlOutcome(shown, False, mask("; ".join(dict.fromkeys(errors)) or f"channel answered {result.status.name}"))


async def _send(message: Message, settings: Settings, limit: asyncio.Semaphore) -> list[tuple[int, UrlOutcome]]:
    async with limit:
        todo = [(i, u) for i, u in enumerate(message.urls) if i not in message.delivered]
        outcomes = await asyncio.gather(*(send_to_url(u, message.kind, message.context, settings) for _, u in todo))
        return [(i, o) for (i, _), o in zip(todo, outcomes)]


# -- claiming and settling (database work, run in a thread) -----------------------------


def digest_slot(profile: dict, now: dt.datetime) -> dt.datetime:
    """The latest moment at or before ``now`` when the subscriber's digest was due."""
    tz = ZoneInfo(profile.get("timezone") or "America/Toronto")
    at = dt.time.fromisoformat(str(profile.get("digest_time") or "08:00"))
    local = now.astimezone(tz)
    slot = dt.datetime.combine(local.date(), at, tzinfo=tz)
    if slot > local:
        slot = dt.datetime.combine(local.date() - dt.timedelta(days=1), at, tzinfo=tz)
    return slot.astimezone(dt.timezone.utc)


def _claim(engine: Engine, settings: Settings, now: dt.datetime) -> list[Message]:
    token = uuid.uuid4().hex
    stale = now - dt.timedelta(seconds=settings.delivery.lease)
    with open_session(engine) as session:
        # Claims of a deliverer that died mid-send: those rows are owed again.
        session.exec(update(Notification).where(Notification.status == "sending",
                                                col(Notification.claimed_at) < stale)
                     .values(status="pending", claim=None))
        due = select(Notification.id, Notification.subscriber_id, Notification.digest, Notification.created_at) \
            .where(Notification.status == "pending", Notification.next_attempt_at <= now) \
            .order_by(Notification.id).limit(CLAIM_BATCH)
        rows = session.exec(due).all()
        subscribers = {s.id: s for s in session.exec(
            select(Subscriber).where(col(Subscriber.id).in_({r[1] for r in rows})))}
        wanted, withdrawn, waiting = [], [], {}
        for note_id, subscriber_id, digest, created in rows:
            sub = subscribers.get(subscriber_id)
            if sub is None or not sub.active:
                withdrawn.append(note_id)
            elif not digest or as_utc(created) <= digest_slot(sub.profile, now):
                wanted.append(note_id)
            else:
                waiting.setdefault(subscriber_id, []).append(note_id)
        for subscriber_id, ids in waiting.items():
            # Not due before the next digest: out of the due query until then, so a
            # pile of waiting digest rows never crowds out an immediate alert.
            next_slot = digest_slot(subscribers[subscriber_id].profile, now) + dt.timedelta(days=1)
            session.exec(update(Notification).where(col(Notification.id).in_(ids))
                         .values(next_attempt_at=next_slot))
        if withdrawn:
            session.exec(update(Notification).where(col(Notification.id).in_(withdrawn))
                         .values(status="withdrawn", last_error="the subscriber was removed"))
        if wanted:
            session.exec(update(Notification).where(col(Notification.id).in_(wanted),
                                                    Notification.status == "pending")
                         .values(status="sending", claim=token, claimed_at=now))
        session.commit()
        claimed = list(session.exec(select(Notification).where(Notification.claim == token)
                                    .order_by(Notification.id)))
        draws = {d.id: d for d in session.exec(select(Draw).where(col(Draw.id).in_({n.draw_id for n in claimed})))}
    messages: list[Message] = []
    digests: dict[int, list[Notification]] = {}
    for note in claimed:
        if note.digest:
            digests.setdefault(note.subscriber_id, []).append(note)
            continue
        sub = subscribers[note.subscriber_id]
        messages.append(Message(sub.name, sub.profile["urls"], note.kind, _item(note, draws[note.draw_id], sub.name),
                                [note.id], set(note.delivered or []), note.attempts, token))
    for subscriber_id, notes in digests.items():
        sub = subscribers[subscriber_id]
        items = [_item(n, draws[n.draw_id], sub.name) for n in notes]
        delivered = set.intersection(*(set(n.delivered or []) for n in notes))
        messages.append(Message(sub.name, sub.profile["urls"], "digest", {"subscriber": sub.name, "items": items},
                                [n.id for n in notes], delivered, max(n.attempts for n in notes), token))
    return messages


def _item(note: Notification, draw: Draw, subscriber: str) -> dict:
    return {"subscriber": subscriber, "kind": note.kind, "draw": draw_context(draw), "reasons": note.reasons,
            "unmet": note.unmet, "interests": note.interests, "changes": change_list(note.changes or {}),
            "still": bool(note.interests)}


def _outcome_values(settings: Settings, message: Message, outcomes: list[tuple[int, UrlOutcome]],
                    now: dt.datetime) -> tuple[str, dict]:
    """(state, column values) of a message's rows once its channels answered."""
    delivered = message.delivered | {i for i, o in outcomes if o.ok}
    attempts = message.attempts + 1
    if len(delivered) == len(message.urls):
        return "sent", dict(status="sent", sent_at=now, delivered=sorted(delivered), claim=None, last_error=None,
                            attempts=attempts)
    errors = "; ".join(f"{o.masked}: {o.error}" for _, o in outcomes if not o.ok)[:2000]
    give_up = attempts >= settings.delivery.max_attempts
    wait = min(settings.delivery.backoff * 2 ** (attempts - 1), settings.delivery.backoff_max)
    log.warning("%s: %s %s (attempt %d of %d): %s", message.subscriber, message.kind,
                "failed for good" if give_up else "not delivered", attempts, settings.delivery.max_attempts, errors)
    return ("failed" if give_up else "retrying"), dict(
        status="failed" if give_up else "pending", attempts=attempts, claim=None, delivered=sorted(delivered),
        last_error=errors, next_attempt_at=now + dt.timedelta(seconds=wait))


def _settle(engine: Engine, settled: list[tuple[Message, dict]]) -> None:
    """Write the outcomes of several messages in one transaction."""
    with open_session(engine) as session:
        for message, values in settled:
            session.exec(update(Notification).where(col(Notification.id).in_(message.ids),
                                                    Notification.claim == message.claim).values(**values))
        session.commit()


class _Settler:
    """Writes outcomes as they arrive, batching whatever arrived while the last write ran.

    One writer instead of a transaction per message: at hundreds of messages a second the
    per-commit cost and the threads queueing for SQLite's lock dominated. A message sent
    but not yet written stays ``sending`` -- the same window as a crash mid-send, only as
    long as one write.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.queue: list[tuple[Message, dict]] = []
        self.writer: asyncio.Task | None = None

    def add(self, message: Message, values: dict) -> None:
        self.queue.append((message, values))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            await asyncio.to_thread(_settle, self.engine, batch)

    async def flush(self) -> None:
        while self.writer is not None and not self.writer.done():
            await self.writer


async def deliver_due(engine: Engine, settings: Settings, *, now: dt.datetime | None = None) -> DeliveryReport:
    """Send everything due now (immediate alerts, retries, digests whose time came)."""
    report = DeliveryReport()
    limit = asyncio.Semaphore(settings.delivery.concurrency)

    settler = _Settler(engine)

    async def one(message: Message) -> None:
        outcomes = await _send(message, settings, limit)
        # A caller driving the clock (``now``) gets backoff counted from that clock too.
        state, values = _outcome_values(settings, message, outcomes, now or utcnow())
        settler.add(message, values)
        n = len(message.ids)
        report.sent += n if state == "sent" else 0
        report.retrying += n if state == "retrying" else 0
        report.failed += n if state == "failed" else 0

    try:
        while True:
            messages = await asyncio.to_thread(_claim, engine, settings, now or utcnow())
            if not messages:
                return report
            report.messages += len(messages)
            await asyncio.gather(*(one(m) for m in messages))
            await settler.flush()
            if sum(len(m.ids) for m in messages) < CLAIM_BATCH:
                return report
    finally:
        await settler.flush()


async def send_test(name: str, urls: list[str], settings: Settings) -> list[UrlOutcome]:
    """A test message to each of ``urls``; the outcome of each."""
    return list(await asyncio.gather(*(send_to_url(u, "test", {"subscriber": name}, settings) for u in urls)))


async def send_operator(settings: Settings, title: str, body: str) -> bool:
    """A health message to the operator's channels; True when at least one accepted it.

    One channel that works is enough for the operator to know: resending to every
    channel until all of them work would repeat the message on those that did.
    """
    import apprise

    sender = apprise.Apprise()
    for url in settings.operator.urls:
        sender.add(url)
    # The bodies are plain text with line breaks that carry meaning.
    result = await sender.async_notify(body=body, title=title, body_format="text",
                                       timeout=settings.delivery.timeout, log_level=logging.WARNING)
    if not result:
        errors = "; ".join(dict.fromkeys(e.message for e in result.logs() if e.level != "DEBUG"))
        log.warning("operator channel: not delivered everywhere: %s", mask(errors) or result.status.name)
    return result.success_count > 0
