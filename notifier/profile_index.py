"""The subscribers' profiles as rows a query can select on (``store.models.ProfileIndex``,
``ProfileNoc``, ``ProfilePoints``), kept current from the ``Subscriber`` rows.

Each index row remembers the ``updated`` stamp of the subscriber row it was built from.
``refresh`` compares the two tables' counts, highest ids and latest stamps (a few
aggregate reads) and, when they differ, rebuilds only the rows missing or stale: after
every write through ``notifier.subscribers`` it has nothing to do, and a database made
before the index existed, or filled by other means, is indexed on its next refresh.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Iterable

from sqlalchemy import and_, delete, func, or_, select
from sqlmodel import Session

from notifier.bulk import insert_rows
from notifier.profile import MatchProfile
from store.models import ProfileIndex, ProfileNoc, ProfilePoints, Subscriber

log = logging.getLogger(__name__)

CHUNK = 5_000  # subscribers rebuilt per statement (SQLite allows 32,766 bound values)

# json.loads without its Python-level steps (type and whitespace checks, error wording):
# the text is encode's own, and the matcher decodes one per candidate.
_parse = json.JSONDecoder().scan_once


def _listed(values: Iterable[str]) -> str:
    values = sorted(values)
    return f",{','.join(values)}," if values else ""


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def encode(profile: MatchProfile) -> str:
    """The profile as ``ProfileIndex.match`` holds it (the crosswalk already applied)."""
    return json.dumps([profile.name, profile.noc2021, profile.crs, profile.provincial_points,
                       sorted(profile.programs), profile.clb, profile.nclc, sorted(profile.provinces),
                       _day(profile.ee_profile_created), _day(profile.eoi_created), sorted(profile.sources),
                       list(profile.notify), profile.near_miss, profile.digest])


def decode(subscriber_id: int, text: str) -> MatchProfile:
    (name, noc2021, crs, points, programs, clb, nclc, provinces, ee, eoi, sources, notify, near_miss,
     digest) = _parse(text, 0)[0]
    day = dt.date.fromisoformat
    return MatchProfile.of(subscriber_id, name, noc2021, crs, points, frozenset(programs), clb, nclc,
                           frozenset(provinces), ee and day(ee), eoi and day(eoi), frozenset(sources),
                           tuple(notify), near_miss, digest)


def rows_of(subscriber_id: int, active: bool, stamp: dt.datetime, profile: MatchProfile) -> tuple[dict, list, list]:
    """The index row of one subscriber, and its NOC and points rows."""
    near = "near_miss" in profile.notify
    row = dict(subscriber_id=subscriber_id, stamp=stamp, active=active, sources=_listed(profile.sources),
               provinces=_listed(profile.provinces), programs=_listed(profile.programs), crs=profile.crs,
               nclc=profile.nclc, clb=profile.clb, ee_created=profile.ee_profile_created,
               eoi_created=profile.eoi_created, wants_all="all" in profile.notify,
               wants_targeted="targeted" in profile.notify,
               wants_eligible=near or "eligible" in profile.notify, margin=profile.near_miss if near else 0,
               match=encode(profile))
    nocs = [dict(noc2021=code, subscriber_id=subscriber_id) for code in profile.noc2021]
    points = [dict(subscriber_id=subscriber_id, province=p, points=v) for p, v in profile.provincial_points.items()]
    return row, nocs, points


def _fingerprints(session: Session) -> tuple[tuple, tuple]:
    people = session.execute(select(func.count(), func.max(Subscriber.id), func.max(Subscriber.updated))).one()
    index = session.execute(select(func.count(), func.max(ProfileIndex.subscriber_id),
                                   func.max(ProfileIndex.stamp))).one()
    return tuple(people), tuple(index)


def _drop(session: Session, ids: list[int]) -> None:
    for table in (ProfileIndex, ProfileNoc, ProfilePoints):
        session.execute(delete(table).where(table.subscriber_id.in_(ids)))


def refresh(session: Session) -> int:
    """Rebuild the index rows missing or stale (in the caller's transaction); returns how many."""
    # A subscriber written in this session is looked for row by row: its stamp may be
    # earlier than the latest (another machine's clock), which the fingerprints miss.
    written = any(isinstance(o, Subscriber) for o in (*session.new, *session.dirty, *session.deleted))
    people, index = _fingerprints(session)
    if people == index and not written:
        return 0
    stale = list(session.execute(
        select(Subscriber.id).outerjoin(ProfileIndex, ProfileIndex.subscriber_id == Subscriber.id)
        .where(or_(ProfileIndex.subscriber_id.is_(None), ProfileIndex.stamp != Subscriber.updated,
                   ProfileIndex.active != Subscriber.active))).scalars())
    orphans = list(session.execute(
        select(ProfileIndex.subscriber_id).outerjoin(Subscriber, Subscriber.id == ProfileIndex.subscriber_id)
        .where(Subscriber.id.is_(None))).scalars())
    for start in range(0, len(orphans), CHUNK):
        _drop(session, orphans[start:start + CHUNK])
    for start in range(0, len(stale), CHUNK):
        ids = stale[start:start + CHUNK]
        _drop(session, ids)
        rows, nocs, points = [], [], []
        for sid, active, stamp, profile in session.execute(
                select(Subscriber.id, Subscriber.active, Subscriber.updated, Subscriber.profile)
                .where(Subscriber.id.in_(ids))):
            row, n, p = rows_of(sid, active, stamp, MatchProfile.from_profile(profile, sid))
            rows.append(row)
            nocs += n
            points += p
        for table, batch in ((ProfileIndex, rows), (ProfileNoc, nocs), (ProfilePoints, points)):
            insert_rows(session, table.__table__, batch)
    if stale or orphans:
        # DEBUG: every subscriber write reindexes its profile; a command must not print it.
        log.debug("profile index: %d profiles indexed, %d dropped", len(stale), len(orphans))
    return len(stale)


def indexed(session: Session, ids: Iterable[int]) -> dict[int, MatchProfile]:
    """The active profiles of these subscribers, from the index."""
    ids = list(ids)
    out = {}
    for start in range(0, len(ids), CHUNK):
        for sid, text in session.execute(select(ProfileIndex.subscriber_id, ProfileIndex.match).where(
                and_(ProfileIndex.active.is_(True), ProfileIndex.subscriber_id.in_(ids[start:start + CHUNK])))):
            out[sid] = decode(sid, text)
    return out
