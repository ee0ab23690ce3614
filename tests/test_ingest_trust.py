"""Alerts people can trust (issue 11, points 1-4): held crawls, only new draws are new,
cosmetic edits are no change, a vanished value is no fact.

Every faulty feed here is the real IRCC feed (or a real Ontario page) mutated in code:
round numbers shifted, a date retyped, a value nulled. Run on SQLite and PostgreSQL.
"""
from __future__ import annotations

import copy
import json
import logging
from functools import cache

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import event, update
from sqlmodel import func, select

from notifier import subscribers
from notifier.match import enqueue_matches
from scraper.crawl import _parse_pages
from scraper.records import ParseResult
from scraper.sources.oinp import Oinp
from scraper.sources.registry import SOURCES
from scraper.spiders.base import FetchedPage
from store.facts import FACT_FIELDS, content_hash
from store.ingest import NothingHeld, accept_held, held_crawl, ingest, record_not_modified
from store.payload import from_payload
from store.models import Draw, DrawRevision, HeldCrawl, Notification, PageKeys, PageState
from tests.conftest import DATA, data
from tests.md_render import parse_oinp_page, render

EE_URL = "https://www.canada.ca/content/dam/ircc/documents/json/ee_rounds_123_en.json"
HOOK = "json://127.0.0.1:9/hook"  # never sent to here
EE_SNAPSHOTS = ("2023-01-17", "2023-01-29", "2025-12-20", "2026-04-02", "2026-04-21")


# --------------------------------------------------------------------------- the real feed, mutated


def feed(snapshot: str) -> dict:
    return json.loads(data(f"ee_rounds_123_en.{snapshot}.raw.json").decode("utf-8-sig"))


def rounds(doc: dict) -> dict[str, dict]:
    return {row["drawNumber"]: row for row in doc["rounds"]}


def renumbered(doc: dict) -> dict:
    """Every drawNumber + 1 ("91a" -> "92a"), everything else as published."""
    for row in doc["rounds"]:
        number = row["drawNumber"]
        digits = number.rstrip("abcdefghijklmnopqrstuvwxyz")
        row["drawNumber"] = f"{int(digits) + 1}{number[len(digits):]}"
    return doc


def crawl(session, doc: dict, **kwargs):
    """What ``drawwatch crawl`` hands the store for this feed: its records and the page fetch."""
    body = json.dumps(doc).encode()
    result, pages = _parse_pages(SOURCES["express_entry"], [FetchedPage(EE_URL, 200, body)])
    return ingest(session, "express_entry", result, pages=pages, **kwargs)


def add(session, name, **fields):
    return subscribers.add(session, {"name": name, "urls": [HOOK], **fields})


def count(session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def draws(session, source="express_entry") -> dict[str, tuple]:
    return {d.key: (d.content_hash, d.updated, d.invitations, d.score_min, d.date)
            for d in session.exec(select(Draw).where(Draw.source == source))}


def stored(session, key, source="express_entry") -> Draw:
    return session.exec(select(Draw).where(Draw.source == source, Draw.key == key)).one()


def outbox(session, **where):
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return session.exec(query).all()


# --------------------------------------------------------------------------- 1. held crawls


def test_renumbered_feed_is_held_then_accepted(store_session):
    """Every drawNumber + 1 on the real 2026-04-21 feed: held, nothing stored, nothing sent."""
    s = store_session
    add(s, "everything", notify=["all"], sources=["express_entry"])
    add(s, "cec", crs=530, programs=["cec"])
    crawl(s, feed("2026-04-21"), matcher=enqueue_matches)
    before = (draws(s), count(s, DrawRevision), count(s, Notification), s.get(PageState, EE_URL).updated,
              sorted(s.get(PageKeys, EE_URL).keys))

    report = crawl(s, renumbered(feed("2026-04-21")), matcher=enqueue_matches)
    assert report.held and report.run.outcome == "held"
    assert report.new == [] and report.changed == []
    run = report.run
    # Round 90 becomes 91 (there was none: 91a and 91b), 91a/91b become 92a/92b, 411 becomes 412.
    assert (run.n_parsed, run.n_new, run.n_changed) == (412, 4, 408)
    assert run.error == ("408 stored draws would change (e.g. 2, 3, 4, 5, 6), 4 would be lost "
                         "(e.g. 1, 91a, 91b, 92), 412 look renumbered (their facts now under another key), 4 new")
    held = held_crawl(s, "express_entry")
    assert (held.run_id, held.n_new, held.n_changed, held.n_lost, held.summary) == (run.id, 4, 408, 4, run.error)
    after = (draws(s), count(s, DrawRevision), count(s, Notification), s.get(PageState, EE_URL).updated,
             sorted(s.get(PageKeys, EE_URL).keys))
    assert after == before

    # A second held crawl replaces the first: one per source.
    again = crawl(s, renumbered(feed("2026-04-21")), matcher=enqueue_matches)
    assert again.held and count(s, HeldCrawl) == 1 and held_crawl(s, "express_entry").run_id == again.run.id

    # What is held is the crawl exactly as parsed.
    result, pages = _parse_pages(SOURCES["express_entry"], [FetchedPage(EE_URL, 200, json.dumps(
        renumbered(feed("2026-04-21"))).encode())])
    assert from_payload(held_crawl(s, "express_entry").payload) == (result, pages)

    # A person looked and accepts: exactly the held crawl is applied, alerts as for any crawl.
    accepted = accept_held(s, "express_entry", matcher=enqueue_matches)
    assert accepted.run.outcome == "ok" and not accepted.held
    assert sorted(d.key for d in accepted.new) == ["412", "91", "92a", "92b"] and len(accepted.changed) == 408
    assert stored(s, "412").score_min == 419  # round 411's facts, now under 412
    # and round 410's under 411, with nothing of the French round that was there filled in
    r411 = stored(s, "411")
    assert (r411.program, r411.category_version, r411.score_min, r411.flags) == ("cec", None, 515, [])
    assert accepted.kept == []
    assert held_crawl(s, "express_entry") is None
    assert sorted(s.get(PageKeys, EE_URL).keys) == sorted(rounds(renumbered(feed("2026-04-21"))))
    assert outbox(s, draw_id=stored(s, "412").id)  # "everything" hears of the new number
    with pytest.raises(NothingHeld, match="express_entry: no held crawl"):
        accept_held(s, "express_entry")


def test_more_than_a_few_changes_or_a_lost_round_are_held(store_session):
    """Three stated facts corrected (the threshold): stored; four more: held; a threshold of
    4 lets them through. A round gone from the feed: held, until the source serves the
    whole feed again (or answers 304: back to what is stored)."""
    s = store_session
    crawl(s, feed("2026-04-21"))
    doc = feed("2026-04-21")
    by_number = rounds(doc)
    for number in ("411", "410", "409"):
        by_number[number]["drawCRS"] = str(int(by_number[number]["drawCRS"]) - 1)
    three = crawl(s, doc)
    assert three.run.outcome == "ok" and sorted(d.key for d, _ in three.changed) == ["409", "410", "411"]
    assert dict((d.key, ch) for d, ch in three.changed)["411"] == {"score_min": [419, 418]}
    for number in ("408", "407", "406", "405"):
        by_number[number]["drawCRS"] = str(int(by_number[number]["drawCRS"]) - 1)
    four = crawl(s, doc)
    assert four.held and four.run.error == "4 stored draws would change (e.g. 405, 406, 407, 408)"
    assert stored(s, "405").score_min == int(rounds(feed("2026-04-21"))["405"]["drawCRS"])
    assert crawl(s, doc, hold_threshold=4).run.outcome == "ok"

    whole = copy.deepcopy(doc)
    doc["rounds"] = [row for row in doc["rounds"] if row["drawNumber"] != "300"]
    before = draws(s)
    lost = crawl(s, doc)
    assert lost.held and lost.run.error == "1 would be lost (e.g. 300)"
    assert held_crawl(s, "express_entry").n_lost == 1 and draws(s) == before
    back = crawl(s, whole)
    assert back.run.outcome == "ok" and (back.new, back.changed) == ([], [])
    assert held_crawl(s, "express_entry") is None
    assert crawl(s, doc).held
    record_not_modified(s, "express_entry")
    assert held_crawl(s, "express_entry") is None


def test_real_successive_snapshots_are_never_held(store_session):
    """Every real pair of IRCC feeds we have, oldest first: no round lost, no fact rewritten
    (the only differences are retyped dates and text: test_retyped_values_are_no_change)."""
    s = store_session
    crawl(s, feed(EE_SNAPSHOTS[0]))
    new = []
    for snapshot in EE_SNAPSHOTS[1:]:
        report = crawl(s, feed(snapshot))
        assert report.run.outcome == "ok" and report.changed == [], snapshot
        new.append(len(report.new))
    assert new == [1, 150, 20, 3]
    assert count(s, DrawRevision) == 0 and count(s, HeldCrawl) == 0


OINP_2024 = "https://www.ontario.ca/page/2024-ontario-immigrant-nominee-program-updates"
LEDGER = "oinp_invitations_apply.2026-06-19.md"  # the EOI streams' ledger (the other holds Express Entry streams)


@cache
def oinp_page(name: str) -> FetchedPage:
    body, url = render(DATA / name) if name.endswith(".md") else (data(name), OINP_2024)
    return FetchedPage(url, 200, body)


@cache
def _parsed(body: bytes, url: str) -> ParseResult:
    return parse_oinp_page(body, url)


def parse_once(body: bytes, url: str) -> ParseResult:
    """Ontario's parser, each page parsed once per test session (a copy each time: the
    crawl's merge and the store get records of their own)."""
    return copy.deepcopy(_parsed(body, url))


class _OinpParsedOnce(Oinp):
    parsers = {kind: f"{__name__}:parse_once" for kind in Oinp.parsers}


OINP = _OinpParsedOnce()


def oinp_crawl(session, pages: list[FetchedPage], **kwargs):
    result, fetches = _parse_pages(OINP, pages)
    return ingest(session, "oinp", result, pages=fetches, combine=OINP.load_combine(), **kwargs)


def test_ontario_is_judged_page_by_page(store_session):
    """Ontario's crawls read some years' pages and the ledgers: a page not fetched loses
    nothing; a year's page read for the first time (a backfill) completes the ledgers'
    draws without a hold, and so does the real early/late 2024 pair; a ledger dropping
    one real row is held."""
    s = store_session
    current = [oinp_page(n) for n in ("oinp_updates_2026.2026-06-19.md", LEDGER)]
    assert oinp_crawl(s, current).run.outcome == "ok"
    for name in ("oinp_updates_2024.2024-08-23.bs4prettified.html", "oinp_updates_2024.wayback2025.raw.html"):
        backfill = oinp_crawl(s, [oinp_page(name), *current[1:]])
        assert backfill.run.outcome == "ok", name
        # The page's titles and links win over the ledgers' (the merge's ranking): stated
        # values replaced, by a page read for the first time for these draws.
        replaced = {d.key for d, ch in backfill.changed if "title" in ch and ch["title"][0]}
        assert len(replaced) > 3 and all(k.startswith("2024-") for k in replaced), name
    # The 2024 page is not fetched again: its draws are not lost.
    again = oinp_crawl(s, current)
    assert again.run.outcome == "ok" and not again.new and not again.changed

    # The ledger drops its first row (a real row, removed from the real page).
    soup = BeautifulSoup(current[1].body, "html.parser")
    soup.find_all("tr")[1].decompose()
    trimmed = FetchedPage(current[1].url, 200, str(soup).encode())
    (lost,) = set(_page_keys(current[1])) - set(_page_keys(trimmed))
    before = draws(s, "oinp")
    report = oinp_crawl(s, [current[0], trimmed])
    assert report.held and report.run.error == f"1 would be lost (e.g. {lost})"
    assert draws(s, "oinp") == before


def _page_keys(page: FetchedPage) -> tuple[str, ...]:
    _, (fetch,) = _parse_pages(OINP, [page])
    return fetch.keys


# --------------------------------------------------------------------------- 2. only new draws are new


def test_a_change_is_not_news_to_those_never_told(store_session):
    """Round 387 (in the baseline) and round 410 (new after it) are corrected to a lower
    CRS: nobody hears of round 387 as new; round 410 is corrected for the subscriber told,
    alerted for the first time to the one who existed when it appeared and only now
    qualifies, and not to the one created after it appeared."""
    s = store_session
    told = add(s, "told", crs=520, programs=["cec"])
    waiting = add(s, "waiting", crs=512, programs=["cec"])
    crawl(s, feed("2026-04-02"), matcher=enqueue_matches)  # the silent baseline: rounds up to 408
    crawl(s, feed("2026-04-21"), matcher=enqueue_matches)  # 409, 410 (CEC, CRS 515), 411 are new
    r410, r387 = stored(s, "410").id, stored(s, "387")
    assert [(r.subscriber_id, r.draw_id) for r in outbox(s)] == [(told.id, r410)]
    s.exec(update(Notification).values(status="sent"))
    s.commit()
    latecomer = add(s, "latecomer", crs=512, programs=["cec"])
    assert (r387.program, r387.score_min) == ("cec", 515)

    doc = feed("2026-04-21")
    rounds(doc)["410"]["drawCRS"] = "510"
    rounds(doc)["387"]["drawCRS"] = "510"
    report = crawl(s, doc, matcher=enqueue_matches)
    assert sorted(d.key for d, _ in report.changed) == ["387", "410"]
    rows = [(r.subscriber_id, r.draw_id, r.kind) for r in outbox(s) if r.status == "pending"]
    assert rows == [(told.id, r410, "correction"), (waiting.id, r410, "alert")]
    assert not outbox(s, subscriber_id=latecomer.id) and not outbox(s, draw_id=r387.id)


def test_retyped_date_on_round_237_sends_nothing(store_session):
    """The issue's case: the real 2023-01-17 then 2023-01-29 feeds, round 237's drawDate
    retyped. Only round 238 is news; nobody hears of round 237 as new or near."""
    s = store_session
    sub = add(s, "near", crs=480, programs=["cec", "fsw"], notify=["eligible", "near_miss"], near_miss=50)
    crawl(s, feed("2023-01-17"), matcher=enqueue_matches)
    report = crawl(s, feed("2023-01-29"), matcher=enqueue_matches)
    assert report.changed == []
    assert [r.draw_id for r in outbox(s, subscriber_id=sub.id)] == [stored(s, "238").id]


def test_ontario_draw_completed_later_gets_its_first_alert(store_session):
    """Ontario's 2026 page says the 23 April Central Ontario International Student draw took
    scores of 85 and above; its ledger, read later, says 84. A draw first seen after the
    baseline and after the subscriber was created, that only now fits: its first alert.
    A subscriber created after the draw appeared is not told of it."""
    s = store_session
    central = "2026-04-23/international_student/central"
    profile = dict(nocs=["11100"], provincial_points={"ON": 84}, eoi_created="2025-09-01", notify=["eligible"])
    early = add(s, "early", **profile)
    oinp_crawl(s, [oinp_page("oinp_updates_2024.wayback2025.raw.html")], matcher=enqueue_matches)  # baseline
    page = oinp_page("oinp_updates_2026.2026-06-19.md")
    first = oinp_crawl(s, [page], matcher=enqueue_matches)
    assert central in {d.key for d in first.new} and stored(s, central, "oinp").score_min == 85
    late = add(s, "late", **profile)
    completed = oinp_crawl(s, [page, oinp_page(LEDGER)], matcher=enqueue_matches)
    assert dict((d.key, ch) for d, ch in completed.changed)[central]["score_min"] == [85, 84]
    draw_id = stored(s, central, "oinp").id
    assert [(r.subscriber_id, r.kind) for r in outbox(s, draw_id=draw_id)] == [(early.id, "alert")]
    assert late.id not in {r.subscriber_id for r in outbox(s, draw_id=draw_id)}


# --------------------------------------------------------------------------- 3, 4. wording and gaps are no facts


def test_retyped_and_vanished_values_are_no_change(store_session, caplog):
    """On the real feed, round 411: its date as DD-MM-YYYY, its count without the comma, its
    round time spaced differently are the same facts; its drawSize and score distribution
    blanked and its drawCRS unreadable ("4l9") keep the stored values, flagged and reported. No revision,
    no message, every round counted unchanged."""
    s = store_session
    add(s, "french", crs=430, nclc=8, programs=["cec"], notify=["all"], sources=["express_entry"])
    crawl(s, feed("2026-04-21"), matcher=enqueue_matches)
    before = stored(s, "411").updated

    retyped = feed("2026-04-21")
    rounds(retyped)["411"].update(drawDate="15-04-2026", drawSize="4000",
                                  drawDateTime="April 15,2026  10:43:11 UTC")
    report = crawl(s, retyped, matcher=enqueue_matches)
    assert (report.changed, report.unchanged, report.run.n_changed) == ([], 412, 0)
    draw = stored(s, "411")
    assert (draw.invitations, str(draw.date), draw.updated) == (4000, "2026-04-15", before)
    # The wording as now published is kept with the draw.
    assert draw.extra["published_date"] == "15-04-2026" and "April 15,2026  10:43:11" in draw.text

    vanished = feed("2026-04-21")
    r411 = rounds(vanished)["411"]
    r411.update({name: "" for name in r411 if name.startswith("dd")}, drawSize=None, drawCRS="4l9")
    with caplog.at_level(logging.INFO, logger="store.ingest"):
        report = crawl(s, vanished, matcher=enqueue_matches)
    assert report.run.outcome == "ok" and report.changed == [] and report.unchanged == 412
    assert report.kept == [("411", "invitations"), ("411", "score_min"), ("411", "extra.distribution")]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "express_entry: 3 values no longer given by the source were kept as stored "
        "(e.g. 411.invitations, 411.score_min, 411.extra.distribution)"]
    draw = stored(s, "411")
    assert (draw.invitations, draw.score_min, draw.updated) == (4000, 419, before)
    assert draw.extra["distribution"]["total"] == int(rounds(feed("2026-04-21"))["411"]["dd18"].replace(",", ""))
    assert {"unreadable_drawCRS", "vanished_invitations", "vanished_score_min",
            "vanished_extra.distribution"} <= set(draw.flags)
    assert draw.extra["raw"] == {"drawCRS": "4l9"}
    # The same faulty feed again: still kept and reported, not warned about again.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="store.ingest"):
        again = crawl(s, vanished, matcher=enqueue_matches)
    assert again.kept == report.kept and again.unchanged == 412
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    # Published again: the flags go, quietly.
    back = crawl(s, feed("2026-04-21"), matcher=enqueue_matches)
    assert back.kept == [] and back.changed == [] and stored(s, "411").flags == []
    assert count(s, DrawRevision) == 0 and outbox(s) == []


def test_digests_from_an_older_scheme_update_quietly_then_cheaply(store_session):
    """A database whose content hashes were computed another way: the first crawl stores the
    new digests without a revision, and the next one takes the cheap path (no row loaded)."""
    s = store_session
    crawl(s, feed("2026-04-21"))
    s.exec(update(Draw).values(content_hash="computed the old way"))
    s.commit()
    report = crawl(s, feed("2026-04-21"))
    assert (report.changed, report.unchanged) == ([], 412) and count(s, DrawRevision) == 0
    draw = stored(s, "411")
    assert draw.content_hash == content_hash({name: getattr(draw, name) for name in FACT_FIELDS})
    s.expunge_all()
    loaded = []
    event.listen(s, "loaded_as_persistent", lambda _s, obj: loaded.append(obj))
    again = crawl(s, feed("2026-04-21"))
    assert again.unchanged == 412 and [o for o in loaded if isinstance(o, Draw)] == []


def test_a_backfilled_year_is_history_not_news(store_session):
    """`crawl --backfill` after the baseline: Ontario's real 2018 page adds the 2018 draws.
    They are new to the store but the source's past (dated long before its newest draw):
    a subscriber told of every draw hears nothing. Asked for with --notify-history, the
    2019 page's draws are alerted (the 2019-08-01 tech draw among them)."""
    s = store_session
    sub = add(s, "everything", nocs=["21231"], notify=["all"])
    oinp_crawl(s, [oinp_page("oinp_updates_2026.2026-06-19.md")], matcher=enqueue_matches)  # baseline
    backfill = oinp_crawl(s, [oinp_page("oinp_updates_2018.2026-06-19.md")], matcher=enqueue_matches)
    assert backfill.new and backfill.history == {d.key for d in backfill.new}
    assert not outbox(s, subscriber_id=sub.id)

    asked = oinp_crawl(s, [oinp_page("oinp_updates_2019.2026-06-19.md")], matcher=enqueue_matches,
                       notify_history=True)
    assert asked.new and not asked.history
    alerted = {r.draw_id for r in outbox(s, subscriber_id=sub.id)}
    assert alerted == {d.id for d in asked.new}
    assert any(d.date.isoformat() == "2019-08-01" for d in asked.new if d.id in alerted)
