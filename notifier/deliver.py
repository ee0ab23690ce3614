"""Draining the outbox: every owed message sent once, retried when a channel fails.

A round sends through Apprise's async API with ``concurrency`` slots. A free slot is
filled by claiming the next due message (its rows ``pending`` -> ``sending``, with a claim
token, so two deliverers never send the same row); a message is settled as soon as its
channels answered: ``sent``, or back to ``pending`` with exponential backoff, or
``failed`` after ``max_attempts``. A subscriber with several URLs is retried only on the
URLs that failed. A digest is one message for all of a subscriber's due digest rows.
A channel that rate-limits (HTTP 429, SMTP 421/451; ``notifier.ratelimit``) is waited
for until the time it named, counting no attempt, while the other channels go on.

Crash safety. A deliverer holds rows only for the messages it is sending: a slot is
refilled in the same transaction that records the outcome of the message it held, so at
any moment its ``sending`` rows are at most ``concurrency`` messages, each started (or
starting) the moment it was claimed. When it dies (SIGKILL, power loss):

- every row it did not hold is untouched and goes out at the next round of any deliverer
  (the service runs one when it starts and every ``delivery_interval``);
- the rows it held stay ``sending`` until their claim is ``lease`` seconds old, then go
  out at the next round: at most ``concurrency`` messages wait about ``lease``;
- only those held messages can arrive twice: the ones a channel had already taken when
  the process died (it answered and the outcome was not yet written, or it took the
  request and the answer never came). So one kill sends at most ``concurrency`` messages
  twice, each once more and only on the URLs no earlier attempt recorded as delivered.
  A send and a database write can never be one atomic step, so this window can only be
  bounded, not closed.

``lease`` must be longer than a send can take (``timeout`` + 5 s, plus a write), or a live
deliverer's claim is taken over. A send cut short by cancellation (the service's shutdown
timeout) gives its claim back at once.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from notifier.render import change_list, draw_context
from notifier.secrets import mask
from notifier.send import UrlOutcome, send_to_url
from notifier.config import NotifierConfig
from store.db import session as open_session
from store.models import Draw, Notification, Subscriber, as_utc, utcnow

log = logging.getLogger(__name__)
# The lines said per message whose channel was not reached: ``drawwatch deliver`` leaves
# exactly these out for its summary per channel (notifier.cli), so each is written once.
NOT_DELIVERED = "%s: %s %s (attempt %d of %d): %s"
RATE_LIMITED = "%s: %s waits for a rate-limited channel: %s"


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
class DeliveryReport:
    sent: int = 0  # outbox rows
    retrying: int = 0
    failed: int = 0
    messages: int = 0

    def __str__(self) -> str:
        return f"{self.messages} messages: {self.sent} rows sent, {self.retrying} to retry, {self.failed} failed"


# -- sending --------------------------------------------------------------------------


async def _send(message: Message, settings: NotifierConfig, now: dt.datetime | None) -> list[tuple[int, UrlOutcome]]:
    todo = [(i, u) for i, u in enumerate(message.urls) if i not in message.delivered]
    if len(todo) == 1:  # the common case, without a task per URL
        i, url = todo[0]
        return [(i, await send_to_url(url, message.kind, message.context, settings, now))]
    outcomes = await asyncio.gather(*(send_to_url(u, message.kind, message.context, settings, now) for _, u in todo))
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


def _release_stale(engine: Engine, settings: NotifierConfig, now: dt.datetime) -> None:
    """Claims of a deliverer that died mid-send: once older than ``lease``, those rows are owed again."""
    stale = now - dt.timedelta(seconds=settings.delivery.lease)
    with open_session(engine) as session:
        session.exec(update(Notification).where(Notification.status == "sending", col(Notification.claimed_at) < stale)
                     .values(status="pending", claim=None))
        session.commit()


_OUTBOX = Notification.__table__
_PEOPLE = Subscriber.__table__
# A row is settled only while it holds the claim it was sent under: were it taken over
# after the lease, its new holder's outcome is the one that counts.
_SETTLE = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.claim == bindparam("row_claim"))

# The claim's statements are built once, with their values bound at each run: built per
# claim, SQLAlchemy walked each one again to find it in its cache, a third of the claim's cost.
_DUE = (_OUTBOX.c.status == "pending", _OUTBOX.c.next_attempt_at <= bindparam("due_at"))


# What a claimed row's message is made of: not ``facts`` (what the match rested on) nor the
# bookkeeping, each a JSON value more to decode per message.
_CLAIMED = [_OUTBOX.c[name] for name in ("id", "subscriber_id", "draw_id", "kind", "digest", "interests", "reasons",
                                         "unmet", "changes", "delivered", "attempts", "created_at")]


def _taking(*where):
    return (update(_OUTBOX).where(*_DUE, *where)
            .values(status="sending", claim=bindparam("token"), claimed_at=bindparam("due_at")).returning(*_CLAIMED))


# MATERIALIZED: the due rows are picked once, never more than ``wanted`` of them.
_PICKED = (select(_OUTBOX.c.id).where(*_DUE).order_by(_OUTBOX.c.id).limit(bindparam("wanted"))
           .with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED"))
_TAKE_DUE = _taking(_OUTBOX.c.id.in_(select(_PICKED.c.id)))
# A digest is one message for all its due rows, however few slots are free.
_TAKE_DIGESTS = _taking(_OUTBOX.c.subscriber_id.in_(bindparam("subscribers", expanding=True)),
                        _OUTBOX.c.digest.is_(True))
_SUBSCRIBERS = select(_PEOPLE).where(_PEOPLE.c.id.in_(bindparam("ids", expanding=True)))


def _claim(conn: Connection, wanted: int, now: dt.datetime, draws: dict[int, dict]) -> tuple[list[Message], bool]:
    """Claim the next ``wanted`` messages due; also whether more may be due.

    Runs in the transaction that settles the messages whose slots these take, once per
    few messages sent, so it is kept to one statement in the common case (plus reading
    the subscribers): rows are claimed first and sorted out after, and the outbox is
    read and written as a table (through the ORM each statement cost three times as
    much). On PostgreSQL the picked rows are locked, skipping those another deliverer is
    claiming; on both databases the ``status == "pending"`` guard leaves a row taken
    meanwhile to its taker. ``draws`` caches the round's draws, as the templates show them.
    """
    bound = {"due_at": now, "token": uuid.uuid4().hex}
    token = bound["token"]
    claimed = list(conn.execute(_TAKE_DUE, {**bound, "wanted": wanted}))
    more = len(claimed) == wanted
    if digest_of := {n.subscriber_id for n in claimed if n.digest}:
        claimed += conn.execute(_TAKE_DIGESTS, {**bound, "subscribers": sorted(digest_of)})
    subscribers = {s.id: s for s in conn.execute(
        _SUBSCRIBERS, {"ids": sorted({n.subscriber_id for n in claimed})})} if claimed else {}
    if missing := {n.draw_id for n in claimed} - draws.keys():
        with Session(conn) as session:  # in the claim's transaction; the templates read a Draw
            for draw in session.exec(select(Draw).where(col(Draw.id).in_(missing))):
                # Once per draw and round, not per message: every message of a draw shows the same facts.
                draws[draw.id] = draw_context(draw)
    messages: list[Message] = []
    digests: dict[int, list[Row]] = {}
    withdrawn: list[int] = []
    waiting: dict[int, list[int]] = {}
    for note in sorted(claimed, key=lambda n: n.id):
        sub = subscribers.get(note.subscriber_id)
        if sub is None or not sub.active:
            withdrawn.append(note.id)
        elif not note.digest:
            messages.append(Message(sub.name, sub.profile["urls"], note.kind,
                                    _item_of(note, draws[note.draw_id], sub.name), [note.id],
                                    set(note.delivered or []), note.attempts, token))
        elif as_utc(note.created_at) <= digest_slot(sub.profile, now):
            digests.setdefault(sub.id, []).append(note)
        else:
            waiting.setdefault(sub.id, []).append(note.id)
    for subscriber_id, notes in digests.items():
        sub = subscribers[subscriber_id]
        items = [_item_of(n, draws[n.draw_id], sub.name) for n in notes]
        delivered = set.intersection(*(set(n.delivered or []) for n in notes))
        messages.append(Message(sub.name, sub.profile["urls"], "digest", {"subscriber": sub.name, "items": items},
                                [n.id for n in notes], delivered, max(n.attempts for n in notes), token))
    for subscriber_id, later in waiting.items():
        # Not due before the next digest: out of the due query until then, so a
        # pile of waiting digest rows never crowds out an immediate alert.
        next_slot = digest_slot(subscribers[subscriber_id].profile, now) + dt.timedelta(days=1)
        conn.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(later))
                     .values(status="pending", claim=None, next_attempt_at=next_slot))
    if withdrawn:
        conn.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(withdrawn))
                     .values(status="withdrawn", claim=None, last_error="the subscriber was removed"))
    return messages, more


def _item_of(note: Notification | Row, draw: dict, subscriber: str) -> dict:
    """The template context of one outbox row; ``draw``: its draw's ``draw_context``, shared
    by the round's messages of that draw (the sandbox keeps templates from changing it)."""
    return {"subscriber": subscriber, "kind": note.kind, "draw": draw, "reasons": note.reasons,
            "unmet": note.unmet, "interests": note.interests, "changes": change_list(note.changes or {}),
            "still": bool(note.interests)}


def _outcome_values(settings: NotifierConfig, message: Message, outcomes: list[tuple[int, UrlOutcome]],
                    now: dt.datetime) -> tuple[str, dict]:
    """(state, column values) of a message's rows once its channels answered."""
    delivered = message.delivered | {i for i, o in outcomes if o.ok}
    attempts = message.attempts + 1
    if len(delivered) == len(message.urls):
        return "sent", dict(status="sent", sent_at=now, delivered=sorted(delivered), claim=None, last_error=None,
                            attempts=attempts)
    errors = "; ".join(f"{o.masked}: {o.error}" for _, o in outcomes if not o.ok)[:2000]
    limits = [o.limited_until for _, o in outcomes if not o.ok and o.limited_until is not None]
    if len(limits) == sum(1 for _, o in outcomes if not o.ok):
        # Only rate limits: the channel said "later", not "no". No attempt is counted, so
        # a long limit never fails the message; it goes when the channel named.
        log.info(RATE_LIMITED, message.subscriber, message.kind, errors)
        return "retrying", dict(status="pending", claim=None, delivered=sorted(delivered), last_error=errors,
                                next_attempt_at=max(limits))
    give_up = attempts >= settings.delivery.max_attempts
    wait = min(settings.delivery.backoff * 2 ** (attempts - 1), settings.delivery.backoff_max)
    log.warning(NOT_DELIVERED, message.subscriber, message.kind,
                "failed for good" if give_up else "not delivered", attempts, settings.delivery.max_attempts, errors)
    return ("failed" if give_up else "retrying"), dict(
        status="failed" if give_up else "pending", attempts=attempts, claim=None, delivered=sorted(delivered),
        last_error=errors, next_attempt_at=max([now + dt.timedelta(seconds=wait), *limits]))


# A send cut short by cancellation (the service's shutdown timeout): the claim is given
# back without counting an attempt, so the next round sends the message instead of the lease.
_RELEASED = dict(status="pending", claim=None)


def _settle_and_claim(conn: Connection, settled: list[tuple[Message, dict]], wanted: int, now: dt.datetime,
                      draws: dict[int, dict]) -> tuple[list[Message], bool]:
    """Write the outcomes of finished messages and claim as many new ones as slots are
    free, in one transaction: a slot is never refilled before its last message is settled.

    On the round's connection, not an ORM session: this runs once per few messages, and
    the session's layers around each statement cost as much as the statement (and taking
    a connection from the pool and giving it back, each time, a third of the rest)."""
    with conn.begin():
        alike: dict[tuple, list[dict]] = {}  # one executemany per set of columns written
        for message, values in settled:
            alike.setdefault(tuple(sorted(values)), []).extend(
                {"row_id": i, "row_claim": message.claim, **values} for i in message.ids)
        for rows in alike.values():
            conn.execute(_SETTLE, rows)
        messages, more = _claim(conn, wanted, now, draws) if wanted else ([], True)
    return messages, more


async def deliver_due(engine: Engine, settings: NotifierConfig, *, now: dt.datetime | None = None) -> DeliveryReport:
    """Send everything due now (immediate alerts, retries, digests whose time came).

    ``concurrency`` slots: each holds one claimed message from its claim until its
    outcome is written. One loop does all the database work, each time settling every
    message that finished since the last time and claiming as many as that freed.
    """
    report = DeliveryReport()
    slots = settings.delivery.concurrency
    finished: list[tuple[Message, dict | None]] = []
    wake = asyncio.Event()
    sending: set[asyncio.Task] = set()
    draws: dict[int, dict] = {}
    held = 0  # messages claimed and not yet settled: running, or finished and waiting for the write

    async def one(message: Message) -> None:
        values: dict | None = _RELEASED
        try:
            outcomes = await _send(message, settings, now)
            # A caller driving the clock (``now``) gets backoff counted from that clock too.
            state, values = _outcome_values(settings, message, outcomes, now or utcnow())
            n = len(message.ids)
            report.sent += n if state == "sent" else 0
            report.retrying += n if state == "retrying" else 0
            report.failed += n if state == "failed" else 0
        except Exception:  # a bug: the rows wait for the lease rather than being resent in a loop
            log.exception("%s: %s not settled; sent again after the lease", message.subscriber, message.kind)
            values = None
        finally:
            finished.append((message, values))
            wake.set()

    async def write(wanted: int) -> tuple[list[Message], bool]:
        nonlocal held
        batch = [(m, v) for m, v in finished if v is not None]
        held -= len(finished)
        finished.clear()
        return await asyncio.to_thread(_settle_and_claim, conn, batch, wanted, now or utcnow(), draws)

    await asyncio.to_thread(_release_stale, engine, settings, now or utcnow())
    conn = await asyncio.to_thread(engine.connect)  # the round's: every write goes through it, one at a time
    try:
        while True:
            messages, more = await write(slots - held + len(finished))
            for message in messages:
                task = asyncio.create_task(one(message))
                sending.add(task)
                task.add_done_callback(sending.discard)
            held += len(messages)
            report.messages += len(messages)
            if held == 0 and not more:
                return report
            if more and held < slots:
                continue  # due rows were withdrawn, deferred or taken by another deliverer
            if not finished:
                wake.clear()
                await wake.wait()
    except asyncio.CancelledError:
        for task in sending:  # their claims are given back below (_RELEASED)
            task.cancel()
        raise
    finally:
        try:
            # After an error, the sends already started finish (within ``timeout`` + 5 s)
            # and are recorded, rather than being cut short and sent again.
            if sending:
                await asyncio.wait(sending)
            if finished:
                await write(0)
        finally:
            await asyncio.to_thread(conn.close)


async def send_test(name: str, urls: list[str], settings: NotifierConfig) -> list[UrlOutcome]:
    """A test message to each of ``urls``; the outcome of each."""
    return list(await asyncio.gather(*(send_to_url(u, "test", {"subscriber": name}, settings) for u in urls)))


async def send_operator(settings: NotifierConfig, title: str, body: str) -> bool:
    """A health message to the operator's channels; True when at least one accepted it.

    One channel that works is enough for the operator to know: resending to every
    channel until all of them work would repeat the message on those that did.
    """
    import apprise  # deferred: Apprise loads only where a URL is checked or sent

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
