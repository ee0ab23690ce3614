"""Candidate selection in SQL (notifier.candidates) against the full Python check.

The matcher runs the explained check only on the profiles the query selects, so the query
must select every profile the check would match, on SQLite and on PostgreSQL. Here a
population built from the real draws in tests/data (scores around their cut-offs and
ranges, their occupations in NOC 2021 and 2016 codes, dates around their windows and
tie-breaks, every notify kind, provinces and sources) meets one draw of every shape
those pages hold: for each draw the candidates hold every match, and the outbox the
ingest writes is what the full check over every profile gives.
"""
from __future__ import annotations

import datetime as dt
import random
from functools import cache

from sqlalchemy import insert, update
from sqlmodel import select

from notifier import match, subscribers
from notifier.candidates import candidates
from notifier.match import draw_facts, enqueue_matches, evaluate
from notifier.profile import INTERESTS, MatchProfile
from notifier.profile_index import decode, encode, indexed, refresh
from scraper.sources.checks import local_day
from store.ingest import ingest
from store.models import Notification, ProfileIndex, Subscriber
from store.reference.noc import NocError, lookup, to_2016
from tests.test_match import HOOK, ee, ee_result, oinp

PROGRAMS = ("cec", "fsw", "fst", "pnp")


@cache
def shapes() -> tuple:
    """One draw of every shape the real pages hold (source, program or category and its
    version, score system, whether it has a range, a window, a tie-break, occupations)."""
    seen, out = set(), []
    for draw in [*ee().values(), *oinp().values()]:
        shape = (draw.source, draw.program, draw.category_version, draw.score_system, draw.score_max is None,
                 draw.window_start is None, draw.tiebreak_time is None, bool(draw.noc_codes), draw.noc_version)
        if shape not in seen:
            seen.add(shape)
            out.append(draw)
    return tuple(out)


def _known(code: str) -> bool:
    try:
        return lookup(code) is not None
    except NocError:  # a code the page printed that the correspondence doesn't know
        return False


def population(n: int, seed: int = 13) -> list[dict]:
    """``n`` varied profiles, each through the same validation as the config and the CLI."""
    rng = random.Random(seed)
    draws = shapes()
    codes = sorted({c for d in draws for c in draw_facts(d).targeted | draw_facts(d).on_list
                    | draw_facts(d).stream_nocs})
    old = sorted(c for c in {c for d in draws for c in d.noc_codes if len(c) == 4} | {o for c in codes[:40]
                                                                                   for o in to_2016(c)}
                 if _known(c))
    codes += old + ["00010", "72106", "31301", "21231", "2173", "6322", "0013"]

    def near(value: int | None) -> int | None:
        return None if value is None else max(0, value + rng.choice((-301, -21, -20, -11, -10, -6, -5, -1, 0, 0, 1, 30)))

    def score(kind: str) -> int | None:
        draw = rng.choice([d for d in draws if (d.score_system == "crs") == (kind == "crs")] or draws)
        if draw.score_max is not None and rng.random() < 0.2:
            return draw.score_max + rng.choice((0, 1))
        return near(draw.score_min)

    def day(draw) -> str | None:
        moments = [m for m in (draw.window_start, draw.window_end, draw.tiebreak_time) if m]
        if not moments or rng.random() < 0.15:
            return None if rng.random() < 0.5 else (dt.date(2018, 1, 1) + dt.timedelta(rng.randrange(3300))).isoformat()
        return (local_day(rng.choice(moments)) + dt.timedelta(days=rng.choice((-1, 0, 0, 1, 30)))).isoformat()

    out = []
    for i in range(n):
        p = {"name": f"p{i:05d}", "urls": [HOOK], "nocs": rng.sample(codes, rng.choice((0, 1, 1, 2, 3)))}
        if rng.random() < 0.9:
            p["crs"] = score("crs")
        if rng.random() < 0.6:
            p["provincial_points"] = {"ON": score("points") or 0, **({"BC": rng.randrange(200)} if rng.random() < 0.2 else {})}
        p["programs"] = rng.sample(PROGRAMS, rng.choice((0, 1, 1, 2, 3)))
        for language in ("clb", "nclc"):
            if rng.random() < 0.7:
                p[language] = rng.choice((4, 5, 6, 7, 8, 9))
        p["ee_profile_created"], p["eoi_created"] = day(rng.choice(draws)), day(rng.choice(draws))
        p = {k: v for k, v in p.items() if v is not None}
        p["provinces"] = rng.choice(([], [], ["ON"], ["BC", "AB"], ["ON", "BC"]))
        p["sources"] = rng.choice(([], [], ["express_entry"], ["oinp"], ["express_entry", "oinp"]))
        p["notify"] = rng.sample(INTERESTS, rng.choice((1, 1, 2, 3, 4)))
        p["near_miss"] = rng.choice((1, 5, 10, 20, 300))
        p["delivery"] = rng.choice(("immediate", "immediate", "digest"))
        out.append(subscribers.validate(p).model_dump(mode="json"))
    return out


@cache
def people() -> tuple:
    return tuple(population(600))


def store(session, profiles) -> dict[int, MatchProfile]:
    """Stored as rows written by other means than drawwatch's (no index yet): the
    matcher's refresh must index them."""
    now = dt.datetime.now(dt.timezone.utc)
    session.execute(insert(Subscriber), [dict(name=p["name"], origin="cli", profile=p, created=now, updated=now)
                                         for p in profiles])
    session.commit()
    return {sid: MatchProfile.from_profile(profile, sid)
            for sid, profile in session.exec(select(Subscriber.id, Subscriber.profile))}


def test_the_index_holds_each_profile_as_the_check_reads_it(store_session):
    s = store_session
    profiles = store(s, people())
    assert refresh(s) == len(profiles)
    s.commit()
    assert refresh(s) == 0  # current: nothing rebuilt
    assert indexed(s, profiles) == profiles
    assert all(decode(sid, encode(p)) == p for sid, p in profiles.items())


def test_candidates_hold_every_match_of_every_draw_shape(store_session):
    s = store_session
    profiles = store(s, people())
    refresh(s)
    draws = shapes()
    assert len(draws) > 30 and {d.source for d in draws} == {"express_entry", "oinp"}
    total_matches = total_candidates = 0
    for draw in draws:
        facts = draw_facts(draw)
        matched = {sid for sid, p in profiles.items() if evaluate(p, draw, shared=facts).matched}
        selected = {sid for sid, _ in s.execute(candidates(draw, facts))}
        missed = matched - selected
        assert not missed, (draw.source, draw.key, [evaluate(profiles[sid], draw).reasons for sid in sorted(missed)[:3]])
        total_matches += len(matched)
        total_candidates += len(selected)
    # The query does select: far fewer candidates than profiles, close to the matches.
    assert total_candidates < 1.3 * total_matches < 0.6 * len(draws) * len(profiles), (total_candidates, total_matches)


def test_outbox_is_what_the_full_check_over_every_profile_gives(store_session, monkeypatch):
    s = store_session
    monkeypatch.setattr(match, "_BATCH", 7)  # the matcher's batches: many here, as at 100,000 profiles
    profiles = store(s, people())
    refresh(s)
    s.commit()
    ingest(s, "express_entry", ee_result("2026-04-02"), matcher=enqueue_matches)  # the silent baseline
    # A profile edited through drawwatch, one changed behind its back (stamped), one gone quiet.
    changed = next(sid for sid, p in profiles.items() if not p.noc2021)
    s.exec(update(Subscriber).where(Subscriber.id == changed).values(
        profile={**s.get(Subscriber, changed).profile, "notify": ["all"], "sources": []},
        updated=dt.datetime.now(dt.timezone.utc)))
    quiet = next(sid for sid, p in profiles.items() if "all" in p.notify and not p.sources)
    s.exec(update(Subscriber).where(Subscriber.id == quiet).values(active=False))
    s.commit()
    report = ingest(s, "express_entry", ee_result("2026-04-21"), matcher=enqueue_matches)
    assert sorted(d.key for d in report.new) == ["409", "410", "411"]
    stored = {sid: MatchProfile.from_profile(p, sid)
              for sid, p in s.exec(select(Subscriber.id, Subscriber.profile).where(Subscriber.active == True))}  # noqa: E712
    assert quiet not in stored and stored[changed].notify == ("all",)
    expected = []
    for draw in sorted(report.new, key=lambda d: d.id):
        for sid, p in sorted(stored.items()):
            decision = evaluate(p, draw)
            if decision.matched:
                expected.append((draw.id, sid, p.digest, decision.interests, decision.reasons, decision.unmet))
    written = [(n.draw_id, n.subscriber_id, n.digest, n.interests, n.reasons, n.unmet)
               for n in s.exec(select(Notification).order_by(Notification.id))]
    assert written == expected and len(written) > 100
    assert s.exec(select(ProfileIndex.active).where(ProfileIndex.subscriber_id == quiet)).one() is False


def test_subscriber_writes_keep_the_index_current(store_session):
    s = store_session
    row = subscribers.add(s, {"name": "ana", "urls": [HOOK], "nocs": ["2173"], "crs": 480, "programs": ["cec"]})
    assert indexed(s, [row.id])[row.id].noc2021 == {"21211": "2173", "21231": "2173"}
    subscribers.edit(s, "ana", {"nocs": ["72106"]})  # a welder: not on the draw's list
    fw = oinp()["2026-04-30/foreign_worker"]
    assert row.id not in {sid for sid, _ in s.execute(candidates(fw, draw_facts(fw)))}
    subscribers.edit(s, "ana", {"provincial_points": {"ON": 60}, "eoi_created": "2026-01-10", "nocs": ["21231"]})
    assert refresh(s) == 0  # the edit indexed it in its own transaction
    assert row.id in {sid for sid, _ in s.execute(candidates(fw, draw_facts(fw)))}
    subscribers.remove(s, "ana")
    assert refresh(s) == 0 and s.exec(select(ProfileIndex)).all() == []



def test_an_edit_stamped_before_the_latest_edit_is_indexed_too(store_session, monkeypatch):
    """Two machines, clocks a minute apart: an edit on the slower one is stamped earlier
    than the last edit on the faster one. The index must hold it all the same (the
    counts, highest id and latest stamp of the two tables are then alike)."""
    s = store_session
    ana = subscribers.add(s, {"name": "ana", "urls": [HOOK], "nocs": ["2173"], "crs": 480, "programs": ["cec"]})
    bo = subscribers.add(s, {"name": "bo", "urls": [HOOK], "nocs": ["2173"], "crs": 480, "programs": ["cec"]})
    subscribers.edit(s, "ana", {"crs": 490})
    behind = s.get(Subscriber, ana.id).updated - dt.timedelta(minutes=1)
    monkeypatch.setattr(subscribers, "utcnow", lambda: behind)
    subscribers.edit(s, "bo", {"crs": 300})
    assert indexed(s, [bo.id])[bo.id].crs == 300
