"""Does a draw concern a subscriber, and why: every decision carries its reasons and the
conditions left unmet, in sentences a user can check against the official page.

``evaluate`` is pure (a profile, a draw, the draw's NOC 2021 codes). ``enqueue_matches``
is the ingest's matcher: it runs inside the transaction that stores the draws, so an
outbox row exists exactly when its draw does. It evaluates only the candidates a query
selects for each draw (``notifier.candidates``), a superset of the profiles it matches.
"""
from __future__ import annotations

import datetime as dt
import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Iterable

from sqlmodel import Session, col, select

from notifier.bulk import column_writer, insert_rows
from notifier.candidates import candidates
from notifier.profile import PROVINCES, MatchProfile
from notifier.profile_index import CHUNK, decode, indexed, refresh
from notifier.wake import notify_outbox
from scraper.sources import registry
from scraper.sources.checks import Checks
from store.ingest import baseline_end, history_before
from store.models import Draw, Notification, Subscriber, as_utc, utcnow
from store.targets import draw_nocs


@dataclass
class Decision:
    """What one draw means for one profile."""

    subscriber: str
    draw_key: str
    headline: str
    interests: list[str] = field(default_factory=list)  # the profile's interests this draw hits
    eligible: bool = False
    targeted: bool = False
    reasons: list[str] = field(default_factory=list)  # conditions met, as sentences
    unmet: list[str] = field(default_factory=list)  # conditions not met or not known
    facts: dict = field(default_factory=dict)  # the draw's facts the decision rests on

    @property
    def matched(self) -> bool:
        return bool(self.interests)


def headline(draw: Draw) -> str:
    """The draw's one-line name, as its source words it."""
    return registry.get(draw.source).headline(draw)


def facts_of(draw: Draw) -> dict:
    """The facts of a draw an alert states; a correction is owed when one of them changes."""
    return {
        "date": draw.date.isoformat() if draw.date else None,
        "program": draw.program,
        "category_version": draw.category_version,
        "score_min": draw.score_min,
        "score_max": draw.score_max,
        "tiebreak_time": draw.tiebreak_time.isoformat() if draw.tiebreak_time else None,
        "window_start": draw.window_start.isoformat() if draw.window_start else None,
        "window_end": draw.window_end.isoformat() if draw.window_end else None,
        "noc_codes": list(draw.noc_codes or []),
        "programs_covered": list(draw.programs_covered or []),
    }


@dataclass(frozen=True)
class DrawFacts:
    """What every decision on one draw shares, worked out once per draw: matching runs
    each new draw against every subscriber. ``facts`` is shared by those decisions."""

    headline: str
    facts: dict
    on_list: dict[str, str]  # NOC 2021 codes on a list the draw's source keeps (a category's)
    targeted: dict[str, str]  # NOC 2021 codes the draw itself names (published or crosswalked)
    stream_nocs: dict[str, str]  # NOC 2021 codes the draw's stream accepts at all


def draw_facts(draw: Draw, nocs: dict[str, str] | None = None) -> DrawFacts:
    nocs = draw_nocs(draw) if nocs is None else nocs
    accepted = registry.get(draw.source).stream_nocs(draw)
    return DrawFacts(headline(draw), facts_of(draw),
                     on_list={c: v for c, v in nocs.items() if v == "category"},
                     targeted={c: v for c, v in nocs.items() if v in ("published", "crosswalk")},
                     stream_nocs=dict.fromkeys(accepted or (), "stream"))


def evaluate(profile: MatchProfile, draw: Draw, nocs: dict[str, str] | None = None, *,
             shared: DrawFacts | None = None) -> Decision:
    """The decision for one profile and one draw (``shared``: ``draw_facts(draw)``, passed
    in when the caller evaluates many profiles against the same draw; ``nocs``:
    ``draw_nocs(draw)``, when only that is at hand)."""
    shared = draw_facts(draw, nocs) if shared is None else shared
    decision = Decision(profile.name, draw.key, shared.headline, facts=shared.facts)
    source = registry.get(draw.source)
    province = source.province
    if profile.sources and draw.source not in profile.sources:
        decision.unmet.append(f"{source.display_name} is not among your sources")
        return decision
    if province and profile.provinces and province not in profile.provinces:
        decision.unmet.append(f"{PROVINCES[province]} is not among your provinces")
        return decision
    checks = Checks()
    targets = source.check(checks, profile, draw, shared)
    decision.reasons, decision.unmet = checks.reasons, checks.unmet
    decision.eligible, decision.targeted = checks.all_met, targets
    near = (not checks.all_met and not checks.non_score_unmet and checks.score_gap is not None
            and checks.score_gap <= profile.near_miss)
    hits = {"all": True, "eligible": checks.all_met, "targeted": targets, "near_miss": near}
    decision.interests = [i for i in profile.notify if hits[i]]
    return decision


# -- the outbox ----------------------------------------------------------------------


def _base(draw: Draw, now: dt.datetime) -> dict:
    """What every alert row about ``draw`` written now holds, built once per draw."""
    return dict(subscriber_id=None, draw_id=draw.id, kind="alert", ref="alert", status="pending", digest=False,
                interests=None, reasons=None, unmet=None, facts=None, changes={}, delivered=[], attempts=0,
                next_attempt_at=now, created_at=now)


def _row(profile: MatchProfile, draw: Draw, decision: Decision, now: dt.datetime, **extra) -> dict:
    row = _base(draw, now)
    row.update(subscriber_id=profile.subscriber_id, digest=profile.digest, interests=decision.interests,
               reasons=decision.reasons, unmet=decision.unmet, facts=decision.facts, **extra)
    return row


# What differs between two alerts about one draw: the columns of the matcher's rows
# (``notifier.bulk.column_writer``); the rest of ``_base`` is shared by them all.
_ALERT_COLUMNS = ("subscriber_id", "digest", "interests", "reasons", "unmet")
_BATCH = 4096  # candidates checked per write of their alerts


def _corrections(session: Session, draws: list[Draw], shared: dict[int, DrawFacts],
                 now: dt.datetime) -> tuple[list[dict], set[tuple[int, int]]]:
    """Rows owed for corrected draws, and the (subscriber, draw) pairs already alerted.

    A correction states what changed since the subscriber was last told (the alert, or
    the latest correction sent); one not sent yet is brought up to date instead of
    queueing a second one.
    """
    rows: list[dict] = []
    by_id = {d.id: d for d in draws}
    history: dict[tuple[int, int], list[Notification]] = {}
    for note in session.exec(select(Notification).where(col(Notification.draw_id).in_(list(by_id)))
                             .order_by(Notification.id)):
        history.setdefault((note.subscriber_id, note.draw_id), []).append(note)
    profiles = indexed(session, {sid for sid, _ in history})  # those told: a correction is theirs only
    alerted = set()
    for (subscriber_id, draw_id), notes in history.items():
        alert = next((n for n in notes if n.kind == "alert"), None)
        profile = profiles.get(subscriber_id)
        if alert is None:
            continue
        alerted.add((subscriber_id, draw_id))
        if profile is None or alert.status in ("withdrawn", "failed"):
            continue  # failed: the subscriber never heard of it, so there is nothing to correct
        draw = by_id[draw_id]
        decision = evaluate(profile, draw, shared=shared[draw_id])
        if alert.status == "pending":
            # Not sent yet: the alert itself is brought up to date instead.
            _refresh(alert, decision)
            if not decision.matched:
                alert.status, alert.last_error = "withdrawn", "a correction of the draw made it no longer apply"
            session.add(alert)
            continue
        told = [n for n in notes if n.status in ("sent", "sending")][-1].facts
        changed = {k: [told.get(k), v] for k, v in decision.facts.items() if told.get(k) != v}
        waiting = [n for n in notes if n.kind == "correction" and n.status == "pending"]
        if waiting:
            _refresh(waiting[-1], decision)
            waiting[-1].changes = changed
            if not changed:  # corrected back to what the subscriber was told
                waiting[-1].status, waiting[-1].last_error = "withdrawn", "the draw was corrected back"
            session.add(waiting[-1])
        elif changed:  # else e.g. only the invitation count or the text moved: nothing the alert said
            ref = f"correction:{draw.content_hash[:20]}"
            # A draw corrected back to a version already corrected to has had its message.
            if all(n.ref != ref for n in notes):
                rows.append(_row(profile, draw, decision, now, kind="correction", ref=ref, changes=changed))
    return rows, alerted


def _first_alert_due(session: Session, draws: list[Draw], ids: set[int]) -> dict[int, set[int]]:
    """For changed draws: the subscribers who may still get a first alert about it.

    A change is not news: only a draw first seen after its source's baseline, and after
    the subscriber was created, and not from the source's past (``history_before``: a
    backfilled year), is one they could have been told about as new; such a
    draw that only now matches (a later page completed it) gets its first alert. A
    baseline draw, or one older than the subscriber, never does.
    """
    ids = sorted(ids)
    created = {sid: as_utc(when) for start in range(0, len(ids), CHUNK) for sid, when in session.exec(
        select(Subscriber.id, Subscriber.created).where(col(Subscriber.id).in_(ids[start:start + CHUNK])))}
    sources = {d.source for d in draws}
    baselines = {source: baseline_end(session, source) for source in sources}
    pasts = {source: history_before(session, source) for source in sources}
    due = {}
    for draw in draws:
        seen, baseline, past = as_utc(draw.first_seen), as_utc(baselines[draw.source]), pasts[draw.source]
        news = (baseline is not None and seen > baseline
                and not (past is not None and draw.date is not None and draw.date < past))
        due[draw.id] = {sid for sid, when in created.items() if news and seen >= when}
    return due


def _plain(draw: Draw) -> SimpleNamespace:
    """The draw's columns as a plain object: the rules read them once per candidate, and
    an ORM attribute costs many times a plain one."""
    return SimpleNamespace(**{c.key: getattr(draw, c.key) for c in Draw.__table__.columns})


def _refresh(note: Notification, decision: Decision) -> None:
    note.reasons, note.unmet, note.facts, note.interests = (decision.reasons, decision.unmet, decision.facts,
                                                            decision.interests)


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for the block (as it was after it)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def enqueue_matches(session: Session, report) -> int:
    """Outbox rows for the report's new and changed draws (the ingest's matcher): a first
    alert for a new draw, a correction for a changed one to those told about it.

    Runs in the ingest transaction, before its commit. Returns the rows written.
    """
    changed = [draw for draw, _ in report.changed]
    if not changed and all(d.key in report.history for d in report.new):
        return 0
    refresh(session)  # the profile index the candidates are selected from
    now = utcnow()
    # A backfilled year is stored, not announced (store.ingest.HISTORY_MARGIN).
    draws = [*(d for d in report.new if d.key not in report.history), *changed]
    shared = {draw.id: draw_facts(draw) for draw in draws}  # once per draw, not per subscriber
    rows, alerted = _corrections(session, changed, shared, now) if changed else ([], set())
    insert_rows(session, Notification.__table__, rows)  # the corrections
    # Hundreds of thousands of candidate rows, decisions and alerts, all alive until
    # written: the cyclic collector would walk them again and again (none is garbage):
    # near a quarter of the matcher's CPU on 100,000 profiles (bench/fanout.py). They are
    # freed before it resumes: else its first pass after would walk them all once more.
    with _collector_paused():
        written = len(rows) + _matched(session, draws, changed, shared, alerted, now)
    if written:
        notify_outbox(session)  # idle deliverers in every process wake at the commit
    return written


def _matched(session: Session, draws: list[Draw], changed: list[Draw], shared: dict[int, DrawFacts],
             alerted: set[tuple[int, int]], now: dt.datetime) -> int:
    """Insert the first alerts the draws owe; returns how many."""
    # The full check runs on the candidates only (notifier.candidates: a superset of the
    # matches), read as plain rows through the connection: no ORM result to build.
    connection = session.connection()
    found = {draw.id: connection.execute(candidates(draw, shared[draw.id])).all() for draw in draws}
    late = _first_alert_due(session, changed, {sid for d in changed for sid, _ in found[d.id]}) if changed else {}
    return _alerts(session, draws, found, shared, alerted, late, now)


def _alerts(session: Session, draws: list[Draw], found: dict[int, list], shared: dict[int, DrawFacts],
            alerted: set[tuple[int, int]], late: dict[int, set[int]], now: dt.datetime) -> int:
    """Insert the first alerts owed to each draw's candidates (``found``: their
    (subscriber id, ``ProfileIndex.match``) rows); returns how many."""
    profiles: dict[int, MatchProfile] = {}  # a candidate of several draws is decoded once
    written = 0
    for draw in draws:
        plain, draw_id = _plain(draw), draw.id  # the ORM's attributes read once, not per candidate
        facts, due, found_here = shared[draw_id], late.get(draw_id), found[draw_id]
        if not found_here:
            continue
        constant = {key: value for key, value in _base(draw, now).items() if key not in _ALERT_COLUMNS}
        constant["facts"] = facts.facts
        # A draw matching a large share of 100,000 profiles must not build 100,000 ORM
        # objects nor row dicts inside the ingest transaction: columns, written a batch at
        # a time (PostgreSQL stores one while the next is worked out).
        with column_writer(session, Notification.__table__, list(_ALERT_COLUMNS), constant) as write:
            for start in range(0, len(found_here), _BATCH):
                columns = {key: [] for key in _ALERT_COLUMNS}
                ids, digests, interests, reasons, unmet = columns.values()
                for subscriber_id, text in found_here[start:start + _BATCH]:
                    if (subscriber_id, draw_id) in alerted:
                        continue
                    if due is not None and subscriber_id not in due:
                        continue
                    profile = profiles.get(subscriber_id)
                    if profile is None:
                        profile = profiles[subscriber_id] = decode(subscriber_id, text)
                    decision = evaluate(profile, plain, shared=facts)
                    if decision.interests:
                        ids.append(subscriber_id)
                        digests.append(profile.digest)
                        interests.append(decision.interests)
                        reasons.append(decision.reasons)
                        unmet.append(decision.unmet)
                write(columns)
                written += len(ids)
    return written


def decisions_for(profiles: Iterable[MatchProfile], draws: Iterable[Draw]) -> list[Decision]:
    """Every (profile, draw) decision, for ``drawwatch matches``."""
    profiles = list(profiles)
    out = []
    for draw in draws:
        shared = draw_facts(draw)
        out += [evaluate(p, draw, shared=shared) for p in profiles]
    return out
